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
} from './api/functions.js';
export { RECOVERY_MODES, resolveJobOptions } from './api/config.js';
export type { JobOptions, RecoveryOptions, RecoveryMode, ErrorPolicy, DeadLetter, ResolvedJobOptions } from './api/config.js';
export { tumbling, sliding, session } from './operators/window.js';
export type { WindowAssigner, TimeDomain } from './operators/window.js';
export type { WatermarkStrategy, PhysicalPlan, Vertex, TaskPlan, ChannelPlan, Partitioning } from './runtime/plan.js';
export type { JobEvent, JobProgress, JobResult, KillSchedule } from './runtime/executor.js';
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
