/**
 * `causalflow`: stream processing with local, exactly-once recovery. Build a {@link Job}, add sources,
 * transform streams, add sinks, run. The determinant log library is published separately as
 * `causalflow/determinants`.
 *
 * @packageDocumentation
 */
export { Job, StreamEnvironment } from './api/job.js';
export type { JobHandle, RunOptions, SourceOptions, FaultSpec } from './api/job.js';
export { DataStream, KeyedStream, WindowedStream, ConnectedStreams, KeyedConnectedStreams, JoinBuilder } from './api/stream.js';
export type { OperatorOptions, ProcessOptions } from './api/stream.js';
export type {
  Collector,
  ProcessContext,
  KeyedProcessContext,
  ProcessFunction,
  KeyedProcessFunction,
  CoProcessFunction,
  AggregateFunction,
  TimerService,
  Window,
} from './operators/functions.js';
export { INFLIGHT_RETENTIONS, RECOVERY_MODES, resolveJobOptions } from './config.js';
export type { JobOptions, RecoveryOptions, RecoveryMode, InflightRetention, ErrorPolicy, DeadLetter, ResolvedJobOptions, EndpointConfig, ResolvedEndpoints } from './config.js';
export type { JobEndpoints } from './observe/observability.js';
export type { RecoveryTimeline, TaskRecovery, RecoveryStep } from './observe/recovery-timeline.js';
export { tumbling, sliding, session } from './operators/window.js';
export type { WindowAssigner, TimeDomain } from './operators/window.js';
export type { WatermarkStrategy, PhysicalPlan, Vertex, TaskPlan, ChannelPlan, Partitioning } from './runtime/plan.js';
export type { JobProgress, JobResult, KillSchedule } from './runtime/executor.js';
export type { JobEvent, JobEventDetails, JobEventType, JobEventOf, TaskWait } from './runtime/events.js';
export { eventTask } from './runtime/events.js';
export type { Guarantee } from './runtime/guarantee.js';
export { describeGuarantee } from './runtime/guarantee.js';
export {
  DeterminantLog,
  ReplayReader,
  ReplicaStore,
  DeltaShipper,
  Kind,
} from '../determinants/index.js';
export type { Source, PartitionReader, SourceContext } from './connectors/source.js';
export type { Sink, SinkPartition, SinkContext } from './connectors/sink.js';
export { fromArray, sequence } from './connectors/collection.js';
export type { ArraySourceOptions, SequenceSourceOptions } from './connectors/collection.js';
export { CollectSink, collectSink } from './connectors/collect.js';
export { fileSink } from './connectors/file.js';
// Kafka: a replayable source, an exactly-once sink without transactions (or a transactional one), and
// the dedupe helper for consumers; see docs/kafka.md.
export { kafkaSource, KafkaSource } from './connectors/kafka/source.js';
export type { KafkaSourceOptions, KafkaMessage } from './connectors/kafka/source.js';
export { kafkaSink, KafkaSink } from './connectors/kafka/sink.js';
export type { KafkaSinkOptions } from './connectors/kafka/sink.js';
export type { KafkaConnectionOptions, AutoCreate } from './connectors/kafka/common.js';
export { dedupeKafkaRecords, KafkaDeduper, readCausalflowHeaders, HEADERS as KAFKA_HEADERS } from './connectors/kafka/headers.js';
export type { CausalflowHeaders, RecordWithHeaders, AnyHeaders } from './connectors/kafka/headers.js';
export type { ReadHeaders, IsolationLevel } from './connectors/kafka/client.js';
export { consoleSink } from './connectors/console.js';
export type { ConsoleSinkOptions } from './connectors/console.js';
export type { KeyedStateStore, ValueState, MapState, ListState, StateKey } from './state/api.js';
export {
  CausalflowError,
  ConfigError,
  OperatorError,
  JobFailedError,
  StateCorruptionError,
  RecoveryEscalationError,
  ExactlyOnceLostError,
  JobStalledError,
  CapturedTimerLostError,
  ConnectorError,
  LogCorruptionError,
  DeterminantMismatchError,
} from './errors.js';
export type { ErrorContext } from '../determinants/errors.js';
export { SeededRandom } from './util/random.js';
export { causal } from './causal/capture.js';
export { recorded, onEventTimer, onProcessingTimer } from './causal/decorators.js';
export type { CausalServices } from './causal/services.js';
export { verifyRuns } from './verify/chaos.js';
export type { VerifyOptions, VerifyResult, RunReport } from './verify/chaos.js';

// --- `causalflow verify --job`: verifying your own job (lib/verify/) ---
export { verifiableJob, verifyJobFile } from './verify/job-file.js';
export type { VerifiableJob, BuiltJob, JobFileExport } from './verify/job-file.js';
export { compareOutputs } from './verify/compare.js';
export type { Comparison, CompareOptions, FirstDifference, PartitionedOutput } from './verify/compare.js';
export type { DegradedRun } from './verify/chaos.js';
