/**
 * Builds one task: its chain of operators (one function instance per subtask), its causal log and
 * services, its inputs and output writers on the channel ends the transport gives, its partitioners, and
 * its source driver. Restoring from a snapshot (or a standby's state) happens here too; starting is the
 * caller's business.
 */
import type { ResolvedJobOptions, DeadLetter } from '../config.js';
import { LiveServices } from '../causal/live.js';
import { RecordingServices } from '../causal/recording.js';
import { CausalTaskLog } from '../causal/task-log.js';
import { LiveClock } from '../causal/recorder.js';
import type { EpochSegment } from '../../determinants/replica.js';
import type { Sink } from '../connectors/sink.js';
import { SinkOperator, type SinkRunContext } from './sink-operator.js';
import type { StrategyFeatures } from './strategy.js';
import type { StateBackend } from '../state/backend.js';
import type { TaskSnapshot } from '../state/snapshot.js';
import type { LocalChannel, OutputChannel } from '../transport/channel.js';
import { ChainedOutput, DISCARDING_OUTPUT, FanOutput, type Operator, type Output } from './operator.js';
import type { LogicalNode, PhysicalPlan, TaskPlan } from './plan.js';
import { SourceDriver, SourceOperator } from './source-driver.js';
import { Task, type TaskEnvironment } from './task.js';
import { BroadcastPartitioner, ForwardPartitioner, HashPartitioner, RebalancePartitioner, type ChannelWriter } from './writer.js';

/** What building a task needs from its worker. */
export interface TaskFactoryHost {
  readonly nodes: readonly LogicalNode[];
  readonly plan: PhysicalPlan;
  readonly options: ResolvedJobOptions;
  readonly features: StrategyFeatures;
  /** The environment of a task whose state backends are `backends` (a standby's), or fresh ones. */
  environment(backends: Map<string, StateBackend> | null): TaskEnvironment;
  /** The consumer's end of plan channel `index` (current incarnation). */
  inputEnd(index: number): LocalChannel;
  /** The producer's end of plan channel `index` (current incarnation). */
  outputEnd(index: number): OutputChannel;
  /** The sink of task `taskId` made `count` records visible, from input that entered at job-clock `ingestTime`. */
  sinkOutput(taskId: number, count: number, ingestTime: number): void;
  /** Sources read `count` records. */
  countInput(count: number): void;
  /** Milliseconds on the job clock. */
  clock(): number;
  /** Wakes `task` at job-clock `at`. */
  wakeAt(task: Task, at: number): void;
  /** An async failure of `task` (a rejected promise). */
  taskFailed(task: Task, error: unknown): void;
  /** The job's directory and run, as sink partitions are told when they open. */
  sinkRun(): SinkRunContext;
}

/** What to build. */
export interface TaskBuild {
  plan: TaskPlan;
  snapshot: TaskSnapshot | null;
  /** State backends of the standby taking over, or null for fresh ones. */
  backends: Map<string, StateBackend> | null;
  replay: EpochSegment[] | null;
  history: EpochSegment[] | null;
}

/** Builds tasks for one worker. */
export class TaskFactory {
  constructor(private readonly host: TaskFactoryHost) {}

  /** Creates one task, restored from `snapshot` or a standby's state; not opened yet. */
  create({ plan, snapshot, backends, replay, history }: TaskBuild): Task {
    const { nodes, options, features } = this.host;
    const vertex = this.host.plan.vertices[plan.vertex]!;
    const chain: Operator[] = vertex.nodes.map((id) => this.createOperator(nodes[id]!, plan.subtask, plan.id));
    const operators = [...chain];
    let deadLetterSink: SinkOperator | null = null;
    if (options.errors.policy === 'dead-letter') {
      deadLetterSink = new SinkOperator(`dead-letters[${plan.id}]`, this.deadLetterRouter(), features.sinkMode, () => this.host.sinkRun(), () => {});
      operators.push(deadLetterSink);
    }
    const causal = features.causal;
    const log = causal
      ? new CausalTaskLog({
          taskId: plan.id,
          dsd: causal.dsd,
          epoch: snapshot?.checkpointId ?? 0,
          retainAll: causal.retainAll,
          replay,
          history,
          onReplayEnd: () => task.noteLogEnd(),
        })
      : null;
    // Without a causal log the task's recorder records nothing; it only keeps the cached clock.
    const clock = log ? null : new LiveClock();
    const task = new Task(plan, vertex.parallelism, operators, this.host.environment(backends), log ?? clock!);
    task.buffering = operators.some((op) => op instanceof SinkOperator);
    task.allowsCalls = nodes[vertex.nodes[0]!]!.async === true;
    task.services = log ? new RecordingServices(log, task) : new LiveServices(clock!);
    task.failAsync = (error) => this.host.taskFailed(task, error);
    for (const channelIndex of plan.inputs) task.gate.add(this.host.inputEnd(channelIndex), this.host.plan.channels[channelIndex]!.logicalInput);
    if (snapshot) task.snapshots.restore(snapshot);
    let seqIndex = 0;
    plan.outputs.forEach((channelIndexes, edge) => {
      for (const channelIndex of channelIndexes) {
        task.outputs.add(edge, this.host.outputEnd(channelIndex), snapshot?.outputSeqs[seqIndex] ?? 0);
        seqIndex++;
      }
    });
    // Each operator feeds the operators chained into it and the partitioners of its own output edges.
    const rebalancers: RebalancePartitioner[] = [];
    chain.forEach((op, i) => {
      const nodeId = vertex.nodes[i]!;
      const outputs: Output[] = [];
      for (let j = i + 1; j < chain.length; j++) {
        const consumer = nodes[vertex.nodes[j]!]!;
        if (consumer.inputs[0]!.from === nodeId) outputs.push(new ChainedOutput(chain[j]!));
      }
      vertex.outputs.forEach((edge, k) => {
        if (edge.edge.from === nodeId) outputs.push(this.edgeOutput(plan, edge.edge, task.writers[k]!, rebalancers));
      });
      op.output = outputs.length === 0 ? DISCARDING_OUTPUT : outputs.length === 1 ? outputs[0]! : new FanOutput(outputs);
    });
    task.snapshots.applyRouting(rebalancers);
    if (deadLetterSink) deadLetterSink.output = DISCARDING_OUTPUT;
    const head = nodes[vertex.nodes[0]!]!;
    if (head.source) {
      task.source = new SourceDriver(
        task,
        chain[0] as SourceOperator,
        head.source.connector,
        { pollSize: options.batchSize, watermarks: head.source.watermarks },
        (count) => this.host.countInput(count),
        () => this.host.clock(),
        (at) => this.host.wakeAt(task, at),
      );
    }
    if (snapshot?.finished) task.status = 'finished';
    return task;
  }

  private createOperator(node: LogicalNode, subtask: number, taskId: number): Operator {
    if (node.source) return new SourceOperator(node.name);
    if (node.sink) {
      return new SinkOperator(node.name, node.sinkConnector!, this.host.features.sinkMode, () => this.host.sinkRun(), (count, ingestTime) =>
        this.host.sinkOutput(taskId, count, ingestTime),
      );
    }
    return node.createOperator!(subtask);
  }

  /** The partitioner of one output edge over its writers. */
  private edgeOutput(plan: TaskPlan, edge: { partitioning: string; keyOf?: (r: any) => unknown }, writers: ChannelWriter[], rebalancers: RebalancePartitioner[]): Output {
    switch (edge.partitioning) {
      case 'forward':
        return new ForwardPartitioner(writers[0]!);
      case 'hash':
        return new HashPartitioner(writers, edge.keyOf!);
      case 'broadcast':
        return new BroadcastPartitioner(writers);
      default: {
        const partitioner = new RebalancePartitioner(writers, plan.subtask);
        rebalancers.push(partitioner);
        return partitioner;
      }
    }
  }

  /** The dead-letter sink, with one partition per task (task ids are unique). */
  private deadLetterRouter(): Sink<unknown> {
    const sink = this.host.options.errors.deadLetter as Sink<DeadLetter>;
    const total = this.host.plan.tasks.length;
    return { name: sink.name, open: (context) => sink.open({ ...context, parallelism: total }) as never };
  }
}
