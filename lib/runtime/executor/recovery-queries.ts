/**
 * What recovery asks of the job as a whole, beyond one worker: the copies of a task's log that live tasks
 * hold (a replacement replays the longest, I4), a task's history before its checkpoint (retained traces),
 * the determinant envelopes sink partitions store (the last hop's copies, I20), and which sinks showed
 * output since the latest checkpoint (what an escalation or an at-least-once recovery would show again,
 * I23). A live sink task answers for its partition; a dead one's partition, or every partition of a
 * resumed job, is opened in the external system to read what it stored.
 */
import { longestCopy, ReplicaStore, type EpochSegment } from '../../../determinants/replica.js';
import type { SinkPartition } from '../../connectors/sink.js';
import type { ShownSinceCheckpoint } from '../escalation.js';
import type { LogicalNode } from '../plan.js';
import type { ChannelFence, WorkerCommands } from '../worker-api.js';
import type { CheckpointController } from './checkpoint-controller.js';
import type { JobView } from './job-view.js';

/** What the queries need from the coordinator besides the {@link JobView}. */
export interface RecoveryQueriesHost extends JobView {
  /** The logical nodes (to find the sinks and their connectors). */
  readonly nodes: readonly LogicalNode[];
  /** The job's directory, which sink partitions are opened in. */
  readonly directory: string;
  /** The latest checkpoint (what sinks showed is compared with it). */
  readonly checkpoints: CheckpointController;
  /** This run's identity, as sink partitions are told when they open. */
  runId(): string;
  /** Channel index → incarnation, as the coordinator wired it last. */
  readonly incarnations: readonly number[];
  /** With retained determinants: the epochs of a task's own log it reported closed (I32), by epoch. */
  closedEpochs(taskId: number): ReadonlyMap<number, Uint8Array> | undefined;
  /** With retained determinants: the highest checkpoint the task acknowledged, having reported every epoch before it (I32); -1 if none. */
  closedThrough(taskId: number): number;
}

/** A sink task: where its partition is, and the sink in its chain. */
interface SinkTask {
  /** The sink task's id. */
  taskId: number;
  /** Its subtask: the partition it writes. */
  subtask: number;
  /** Partitions of the sink. */
  parallelism: number;
  /** Chain position of the sink operator. */
  chainIndex: number;
  /** The sink's logical node (its connector opens the partition). */
  node: LogicalNode;
}

/** Answers recovery's questions about logs and sinks across the job. */
export class RecoveryQueries {
  constructor(private readonly host: RecoveryQueriesHost) {}

  /**
   * For each task: copies of its log held by live tasks, per worker. Each worker first fences the output
   * channels of those of `taskIds` that are dead, at their current incarnations: a failed producer's frames
   * still on the way are refused from then on, so that no live task comes to hold more of its output than the
   * copies cover (I1, I14).
   */
  async collectCopies(taskIds: readonly number[], fromEpoch: number): Promise<Map<number, EpochSegment[][]>> {
    const { plan, incarnations } = this.host;
    const fences: ChannelFence[] = [];
    for (const taskId of taskIds) {
      if (!this.host.isDead(taskId)) continue;
      for (const index of plan.tasks[taskId]!.outputs.flat()) fences.push({ index, incarnation: incarnations[index]! });
    }
    // Every worker is asked at once: each fences and answers for its own tasks, so a worker's answer does not
    // depend on another's, and asking one after another added a round trip per worker to every recovery.
    // The copies are kept in worker order all the same (which copy wins a tie must not depend on timing).
    const answers = await Promise.all(this.host.links.map((link) => link?.replicas(taskIds, fromEpoch, fences)));
    const copies = new Map<number, EpochSegment[][]>();
    for (const answer of answers) {
      if (!answer) continue;
      for (const [taskId, copy] of answer) {
        if (!copies.has(taskId)) copies.set(taskId, []);
        copies.get(taskId)!.push(copy);
      }
    }
    return copies;
  }

  /** A task's trace before `beforeEpoch`: from its own (dead) memory where this process has it, else the longest copy from epoch 0. */
  async historyOf(taskId: number, beforeEpoch: number): Promise<EpochSegment[]> {
    const own = (await this.host.links[this.host.placement[taskId]!]?.ownLogs([taskId], 0, false))?.get(taskId);
    if (own) return own.replay.filter((segment) => segment.epoch < beforeEpoch);
    const closed = this.host.closedEpochs(taskId);
    // The task reported every epoch before a checkpoint it acknowledged (I32): those are the whole history,
    // and copies held elsewhere (prefixes of the same log, which closed epochs win over) add nothing. This
    // keeps a verified recovery from reading every copy and stored envelope since the job started.
    if (closed && this.host.closedThrough(taskId) >= beforeEpoch) return epochsBefore(closed, beforeEpoch);
    const copies = (await this.collectCopies([taskId], 0)).get(taskId) ?? [];
    const stored = new ReplicaStore({ dsd: -1 });
    for (const envelope of await this.sinkDeterminants(0)) stored.ingest(envelope);
    const fromSinks = stored.logOf(taskId, 0);
    if (fromSinks.length > 0) copies.push(fromSinks);
    const copied = (copies.length > 0 ? longestCopy(taskId, copies) : []).filter((segment) => segment.epoch < beforeEpoch);
    // Copies end at the task's last output; the epochs it reported closed are whole (I32), and win.
    if (!closed || closed.size === 0) return copied;
    const byEpoch = new Map(copied.map((segment) => [segment.epoch, segment.bytes]));
    for (const [epoch, bytes] of closed) if (epoch < beforeEpoch) byEpoch.set(epoch, bytes);
    return epochsBefore(byEpoch, beforeEpoch);
  }

  /** Every determinant envelope the job's sink partitions store (a dead sink's partition is opened to read them). */
  async sinkDeterminants(fromEpoch: number): Promise<Uint8Array[]> {
    // Partitions are read at once (only reads: nothing is fenced here), and their envelopes kept in sink order.
    const perSink = await Promise.all([...this.sinkTasks()].map((sink) => this.storedDeterminants(sink, fromEpoch)));
    return perSink.flat();
  }

  /** The envelopes one sink task's partition stores: from its live task, or from the partition opened anew. */
  private async storedDeterminants(sink: SinkTask, fromEpoch: number): Promise<readonly Uint8Array[]> {
    const state = !this.host.isDead(sink.taskId) ? (await this.askSinkState(sink))?.get(sink.taskId) : undefined;
    if (state) return state.determinants;
    // No live task holds the partition (it died, or the job resumes): the partition lives on in the
    // external system; open it to read what it stored.
    const partition = this.openPartition(sink, fromEpoch);
    try {
      await partition.ready?.();
      return partition.determinants?.() ?? [];
    } finally {
      void partition.close?.();
    }
  }

  /** Sink tasks among `tainted` whose partitions show more than the latest checkpoint covers. */
  async shownSinceCheckpoint(tainted: ReadonlySet<number>): Promise<ShownSinceCheckpoint[]> {
    const exposed: ShownSinceCheckpoint[] = [];
    const store = this.host.checkpoints.store!;
    const latest = store.latest;
    for (const sink of this.sinkTasks()) {
      if (!tainted.has(sink.taskId)) continue;
      const restored = latest >= 0 ? store.restore(sink.taskId) : null;
      const atCheckpoint = (restored?.operators[sink.chainIndex]?.state as { outputIndex?: number } | undefined)?.outputIndex ?? 0;
      let visible: number;
      const state = !this.host.isDead(sink.taskId) ? (await this.askSinkState(sink))?.get(sink.taskId) : undefined;
      if (state) {
        visible = state.progress.find((p) => p.sink === sink.node.name)?.visible ?? 0;
      } else {
        const partition = this.openPartition(sink, Math.max(0, latest));
        try {
          await partition.ready?.();
          visible = partition.visibleCount();
        } finally {
          void partition.close?.();
        }
      }
      if (visible > atCheckpoint) exposed.push({ taskId: sink.taskId, sink: sink.node.name, visible, atCheckpoint });
    }
    return exposed;
  }

  /** Every sink task, as (vertex, subtask, chain position of the sink, task id). */
  private *sinkTasks(): Generator<SinkTask> {
    const { plan, nodes } = this.host;
    for (const vertex of plan.vertices) {
      const chainIndex = vertex.nodes.findIndex((id) => nodes[id]!.sink);
      if (chainIndex < 0) continue;
      const node = nodes[vertex.nodes[chainIndex]!]!;
      for (let s = 0; s < vertex.parallelism; s++) yield { taskId: vertex.firstTask + s, subtask: s, parallelism: vertex.parallelism, chainIndex, node };
    }
  }

  /** Asks the worker of a sink task what its partition holds (undefined where the worker is gone). */
  private askSinkState(sink: SinkTask): ReturnType<WorkerCommands['sinkStates']> | undefined {
    return this.host.links[this.host.placement[sink.taskId]!]?.sinkStates([sink.taskId]);
  }

  /** Opens a sink task's partition in the external system, as of checkpoint `restoredEpoch` of this run. */
  private openPartition(sink: SinkTask, restoredEpoch: number): SinkPartition<unknown> {
    return sink.node.sinkConnector!.open({ subtask: sink.subtask, parallelism: sink.parallelism, jobDirectory: this.host.directory, restoredEpoch, runId: this.host.runId(), fresh: false });
  }
}

/** The epochs of `byEpoch` before `beforeEpoch`, as segments in epoch order. */
function epochsBefore(byEpoch: ReadonlyMap<number, Uint8Array>, beforeEpoch: number): EpochSegment[] {
  const out: EpochSegment[] = [];
  for (const [epoch, bytes] of byEpoch) if (epoch < beforeEpoch) out.push({ epoch, bytes });
  return out.sort((a, b) => a.epoch - b.epoch);
}
