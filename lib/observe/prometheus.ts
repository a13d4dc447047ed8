/**
 * The job's Prometheus metrics (prom-client), every one documented in `docs/metrics.md`. Figures the
 * workers keep are read from the {@link JobObserver}'s latest sample when Prometheus scrapes (gauges and
 * counters with a `collect` hook); figures that arrive as events (checkpoints, recoveries) are observed
 * as they arrive. Sink latency is a count-weighted histogram: a sink reports one latency per flushed
 * batch of records, and observing it once per record would cost a loop per report.
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics, type Metric } from 'prom-client';
import type { JobEvent } from '../runtime/events.js';
import { LATENCY_BUCKETS_SECONDS, type JobObserver, type ObservedTask } from './job-observer.js';

/** Buckets (seconds) of detection, takeover and replay times, and checkpoint durations. */
const RECOVERY_BUCKETS_SECONDS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];
/** Buckets (bytes) of checkpoint sizes. */
const SIZE_BUCKETS_BYTES = [1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9];

const TASK_LABELS = ['operator', 'subtask', 'worker'] as const;

function taskLabels(task: ObservedTask): Record<(typeof TASK_LABELS)[number], string> {
  return { operator: task.operator, subtask: String(task.subtask), worker: String(task.worker) };
}

/** The registry of one job's metrics, labelled `job="<name>"`; with `processMetrics`, the coordinator process's too. */
export function jobRegistry(observer: JobObserver, options: { processMetrics?: boolean } = {}): Registry {
  const registry = new Registry();
  registry.setDefaultLabels({ job: observer.job.options.name });
  if (options.processMetrics !== false) collectDefaultMetrics({ register: registry, prefix: 'causalflow_coordinator_' });
  const running = () => observer.tasks.filter((t) => t.figures !== null && t.status !== 'failed');

  /** A counter or gauge whose values are read from the latest sample of every task. */
  const perTask = (kind: 'counter' | 'gauge', name: string, help: string, value: (task: ObservedTask) => number | null, extra: Record<string, string> = {}) => {
    const labelNames = [...TASK_LABELS, ...Object.keys(extra)];
    const collect = function (this: Counter | Gauge) {
      this.reset();
      for (const task of running()) {
        const v = value(task);
        if (v === null) continue;
        const labels = { ...taskLabels(task), ...extra };
        if (this instanceof Counter) this.inc(labels, v);
        else this.set(labels, v);
      }
    };
    return kind === 'counter' ? new Counter({ name, help, labelNames, registers: [], collect }) : new Gauge({ name, help, labelNames, registers: [], collect });
  };

  const metrics = [
    perTask('counter', 'causalflow_task_records_in_total', 'Input elements delivered to the task (a source: records read), since its current incarnation started.', (t) => t.figures!.recordsIn),
    perTask('counter', 'causalflow_task_records_out_total', 'Records the task sent on its output channels, since its current incarnation started.', (t) => t.figures!.recordsOut),
    perTask('counter', 'causalflow_sink_records_total', 'Records the sinks chained into the task made visible, over every incarnation of the task.', (t) => (observer.sinkLatency.has(t.id) ? t.sinkRecords : null)),
    perTask('counter', 'causalflow_task_backpressure_seconds_total', 'Time the task spent waiting for output credit.', (t) => t.figures!.backpressureMs / 1000),
    perTask('gauge', 'causalflow_task_backpressure_ratio', 'Fraction of the last sampling interval the task spent waiting for output credit (0 to 1).', (t) => t.backpressureRatio),
    perTask('gauge', 'causalflow_determinant_log_bytes', "Bytes of the task's own determinant log in memory.", (t) => t.figures!.determinantBytes),
    perTask('gauge', 'causalflow_determinant_replica_bytes', "Bytes of copies of upstream tasks' determinant logs the task holds.", (t) => t.figures!.replicaBytes),
    perTask('gauge', 'causalflow_inflight_log_records', 'In-flight log elements held in memory, all output channels of the task.', (t) => t.figures!.inflightRecords),
  ];
  const inflightBytes = new Gauge({
    name: 'causalflow_inflight_log_bytes',
    help: 'Encoded bytes of the in-flight logs of the task: sealed chunks in memory (location="memory"), chunks spilled to disk (location="disk").',
    labelNames: [...TASK_LABELS, 'location'],
    registers: [],
    collect() {
      this.reset();
      for (const task of running()) {
        this.set({ ...taskLabels(task), location: 'memory' }, task.figures!.inflightMemoryBytes);
        this.set({ ...taskLabels(task), location: 'disk' }, task.figures!.inflightSpilledBytes);
      }
    },
  });
  const standbyLag = new Gauge({
    name: 'causalflow_standby_lag_checkpoints',
    help: 'Completed checkpoints the standby is behind: the latest completed checkpoint minus the one whose state it holds.',
    labelNames: [...TASK_LABELS],
    registers: [],
    collect() {
      this.reset();
      const latest = observer.latestCheckpointSampled;
      for (const standby of observer.standbys) {
        const task = observer.tasks[standby.taskId]!;
        this.set({ operator: task.operator, subtask: String(task.subtask), worker: String(standby.worker) }, Math.max(0, latest - Math.max(0, standby.checkpointId)));
      }
    },
  });
  const jobRecords = new Counter({
    name: 'causalflow_job_records_total',
    help: 'Records read by the job\'s sources (direction="in") and made visible by its sinks (direction="out").',
    labelNames: ['direction'],
    registers: [],
    collect() {
      this.reset();
      const progress = observer.progress();
      this.inc({ direction: 'in' }, progress.recordsIn);
      this.inc({ direction: 'out' }, progress.recordsOut);
    },
  });
  const tasksByStatus = new Gauge({
    name: 'causalflow_tasks',
    help: 'Tasks of the job by status (running, replaying, failed, finished).',
    labelNames: ['status'],
    registers: [],
    collect() {
      this.reset();
      for (const status of ['running', 'replaying', 'failed', 'finished'] as const) this.set({ status }, observer.tasks.filter((t) => t.status === status).length);
    },
  });
  const checkpoints = new Counter({
    name: 'causalflow_checkpoints_total',
    help: 'Checkpoints by outcome: completed, aborted (a task failed before acknowledging), failed (in flight when the job failed).',
    labelNames: ['outcome'],
    registers: [],
    collect() {
      this.reset();
      for (const [outcome, count] of Object.entries(observer.checkpointCounts)) this.inc({ outcome }, count);
    },
  });
  const checkpointDuration = new Histogram({ name: 'causalflow_checkpoint_duration_seconds', help: 'From triggering a checkpoint until it was durable and complete.', buckets: RECOVERY_BUCKETS_SECONDS, registers: [] });
  const checkpointSize = new Histogram({ name: 'causalflow_checkpoint_size_bytes', help: 'Encoded bytes of the snapshots of a completed checkpoint.', buckets: SIZE_BUCKETS_BYTES, registers: [] });
  const mode = observer.job.options.recovery.mode;
  const recoveries = new Counter({ name: 'causalflow_recoveries_total', help: 'Finished recoveries by recovery mode and outcome: local (every replacement live), escalated (local recovery gave up; a rollback followed), rollback (the mode\'s global rollback), moved (tasks moved back to a respawned worker, workers.rebalance: no failure).', labelNames: ['mode', 'outcome'], registers: [] });
  const escalations = new Counter({ name: 'causalflow_escalations_total', help: 'Local recoveries that escalated to a global rollback.', registers: [] });
  const detection = new Histogram({ name: 'causalflow_recovery_detection_seconds', help: 'From a kill (or a worker\'s last sign of life) until the failure was detected, per failure group, where known.', buckets: RECOVERY_BUCKETS_SECONDS, registers: [] });
  const takeover = new Histogram({ name: 'causalflow_recovery_takeover_seconds', help: 'From the detection of a failure until every replacement was live (or every task restarted), plus the detection time where known.', buckets: RECOVERY_BUCKETS_SECONDS, registers: [] });
  const replay = new Histogram({ name: 'causalflow_recovery_replay_seconds', help: 'Time a replacement spent replaying its determinants, per replaced task.', buckets: RECOVERY_BUCKETS_SECONDS, labelNames: ['operator', 'subtask'], registers: [] });
  const all: Metric[] = [...metrics, inflightBytes, standbyLag, jobRecords, tasksByStatus, checkpoints, checkpointDuration, checkpointSize, recoveries, escalations, detection, takeover, replay];
  for (const metric of all) registry.registerMetric(metric);
  registry.registerMetric(sinkLatencyMetric(observer) as never);

  const detectedGroups = new Set<number>();
  const onEvent = (event: JobEvent): void => {
    switch (event.type) {
      case 'checkpoint':
        checkpointDuration.observe(event.durationMs / 1000);
        checkpointSize.observe(event.bytes);
        return;
      case 'task-failed':
        if (event.detectionMs !== undefined && event.detectionMs !== null && !detectedGroups.has(event.group)) {
          detectedGroups.add(event.group);
          detection.observe(event.detectionMs / 1000);
        }
        return;
      case 'live': {
        const task = observer.tasks.find((t) => t.name === event.task);
        if (task) replay.observe({ operator: task.operator, subtask: String(task.subtask) }, event.replayMs / 1000);
        return;
      }
      case 'escalated':
        escalations.inc();
        return;
      case 'recovery-finished':
      case 'rollback-finished':
        for (const timeline of observer.timelines.all) {
          if (timeline.endedAt !== event.t || counted.has(timeline)) continue;
          counted.add(timeline);
          const outcome = timeline.escalationReason !== null ? 'escalated' : timeline.outcome === 'rolled-back' ? 'rollback' : timeline.move ? 'moved' : 'local';
          recoveries.inc({ mode, outcome });
          const detectionMs = Math.max(0, ...timeline.tasks.map((t) => t.detectionMs ?? 0));
          takeover.observe((timeline.endedAt - timeline.startedAt + detectionMs) / 1000);
        }
        return;
      default:
        return;
    }
  };
  const counted = new WeakSet<object>();
  // The observer folds an event before it re-emits it, so the timelines are current here.
  observer.on('event', onEvent);
  return registry;
}

/** The count-weighted sink latency histogram, in prom-client's metric shape (the registry formats it). */
function sinkLatencyMetric(observer: JobObserver) {
  const name = 'causalflow_sink_latency_seconds';
  const help = "End-to-end latency per sink task: from a record's entry into the job (its source read) until the sink made it visible.";
  return {
    name,
    help,
    type: 'histogram',
    aggregator: 'sum',
    get: async () => {
      const values: { value: number; labels: Record<string, string | number>; metricName: string }[] = [];
      for (const [taskId, latency] of observer.sinkLatency) {
        const task = observer.tasks[taskId]!;
        const labels = { operator: task.operator, subtask: String(task.subtask), worker: String(task.worker) };
        let cumulative = 0;
        LATENCY_BUCKETS_SECONDS.forEach((le, i) => {
          cumulative += latency.buckets[i]!;
          values.push({ value: cumulative, labels: { ...labels, le }, metricName: `${name}_bucket` });
        });
        cumulative += latency.buckets[LATENCY_BUCKETS_SECONDS.length]!;
        values.push({ value: cumulative, labels: { ...labels, le: '+Inf' }, metricName: `${name}_bucket` });
        values.push({ value: latency.sum, labels, metricName: `${name}_sum` });
        values.push({ value: latency.count, labels, metricName: `${name}_count` });
      }
      return { name, help, type: 'histogram', values, aggregator: 'sum' };
    },
    reset: () => {},
  };
}
