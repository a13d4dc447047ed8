/**
 * What the coordinator asks a worker about its hosted tasks, answered without changing them: replica
 * copies and own logs for a recovery (I4, I20), holdings for the orphan check (I14), sink progress,
 * traces, waits and figures. `WorkerHost` owns the tasks and runs the commands that change them.
 */
import { longestCopy, type EpochSegment } from '../../determinants/replica.js';
import type { Transport } from '../transport/transport.js';
import type { TaskWait } from './events.js';
import { encodedStateBytes, type TaskMemoryFigures } from './memory-figures.js';
import type { PhysicalPlan } from './plan.js';
import { SinkOperator } from './sink-operator.js';
import { figuresOfTask, type WorkerTaskFigures } from './task-figures.js';
import type { Task } from './task.js';
import type { WorkerStandbys } from './worker-standbys.js';
import type { ChannelFence, SinkProgress } from './worker-api.js';

/** What the queries read: the worker's tasks and the parts of it they look through. */
export interface HostedTasks {
  /** This worker's index. */
  readonly index: number;
  readonly plan: PhysicalPlan;
  readonly transport: Transport;
  /** Hosted tasks by id, dead ones included until replaced. */
  readonly tasks: ReadonlyMap<number, Task>;
  readonly standbys: WorkerStandbys;
  /** Milliseconds on the job clock. */
  readonly clock: () => number;
}

/** The progress of each of a task's sinks (dead-letter sinks left out): what the orphan check compares (I14). */
export function sinkProgressOf(task: Task): SinkProgress[] {
  const progress: SinkProgress[] = [];
  for (const op of task.operators) {
    if (op instanceof SinkOperator && !op.name.startsWith('dead-letters[')) progress.push({ sink: op.name, visible: op.sinkPartition.visibleCount(), regenerated: op.nextOutputIndex });
  }
  return progress;
}

/** Read-only answers about a worker's hosted tasks (the query half of `WorkerCommands`). */
export class WorkerQueries {
  constructor(private readonly hosted: HostedTasks) {}

  /** A hosted task that is not dead, or null. */
  live(taskId: number): Task | null {
    const task = this.hosted.tasks.get(taskId);
    return task && task.status !== 'dead' ? task : null;
  }

  /** {@inheritDoc WorkerCommands.replicas} */
  replicas(taskIds: readonly number[], fromEpoch: number, fences: readonly ChannelFence[]): Map<number, EpochSegment[]> {
    // Before anything is copied, and in the same turn: a frame of a failed producer taken in after the copy
    // would let a task here hold elements whose determinants the copy lacks (an orphan, I14).
    for (const fence of fences) this.hosted.transport.fence(this.hosted.plan.channels[fence.index]!, fence.incarnation);
    const out = new Map<number, EpochSegment[]>();
    for (const taskId of taskIds) {
      const copies: EpochSegment[][] = [];
      for (const task of this.hosted.tasks.values()) {
        if (task.status === 'dead' || !task.recorder.keepsLog || task.taskId === taskId) continue;
        const copy = task.recorder.replicaOf(taskId, fromEpoch);
        if (copy.length > 0) copies.push(copy);
      }
      if (copies.length > 0) out.set(taskId, longestCopy(taskId, copies));
    }
    return out;
  }

  /** {@inheritDoc WorkerCommands.ownLogs} */
  ownLogs(taskIds: readonly number[] | null, fromEpoch: number, whole: boolean): Map<number, { replay: EpochSegment[]; history: EpochSegment[] | null }> {
    const out = new Map<number, { replay: EpochSegment[]; history: EpochSegment[] | null }>();
    const wanted = taskIds ? new Set(taskIds) : null;
    for (const task of this.hosted.tasks.values()) {
      if (!task.recorder.keepsLog || (wanted && !wanted.has(task.taskId))) continue;
      // A dead task's log is the coordinator's to ask for only in this process (its memory is gone elsewhere).
      out.set(task.taskId, { replay: task.recorder.ownSegments(fromEpoch), history: whole ? task.recorder.ownSegments(0) : null });
    }
    return out;
  }

  /** Whether the hosted task `taskId` is dead, replaying, or live (the coordinator's view comes from reports). */
  statusOf(taskId: number): 'dead' | 'replaying' | 'running' | 'finished' | 'absent' {
    const task = this.hosted.tasks.get(taskId);
    if (!task) return 'absent';
    if (task.status === 'running' && task.replaying) return 'replaying';
    return task.status;
  }

  /** {@inheritDoc WorkerCommands.holdings} */
  holdings(index: number, before: number): number {
    const channel = this.hosted.plan.channels[index]!;
    const consumer = this.live(channel.to);
    if (!consumer) return -1;
    return consumer.heldFromBefore(consumer.inputs[channel.consumerInput]!, before);
  }

  /** {@inheritDoc WorkerCommands.sinkStates} */
  sinkStates(taskIds: readonly number[]): Map<number, { progress: SinkProgress[]; determinants: Uint8Array[] }> {
    const out = new Map<number, { progress: SinkProgress[]; determinants: Uint8Array[] }>();
    for (const taskId of taskIds) {
      const task = this.live(taskId);
      if (!task) continue;
      const determinants: Uint8Array[] = [];
      for (const op of task.operators) {
        if (op instanceof SinkOperator && !op.name.startsWith('dead-letters[')) determinants.push(...(op.sinkPartition.determinants?.() ?? []));
      }
      out.set(taskId, { progress: sinkProgressOf(task), determinants });
    }
    return out;
  }

  /** {@inheritDoc WorkerCommands.traces} */
  traces(): Map<number, EpochSegment[]> {
    const traces = new Map<number, EpochSegment[]>();
    for (const task of this.hosted.tasks.values()) if (task.recorder.keepsLog) traces.set(task.taskId, task.recorder.ownSegments(0));
    return traces;
  }

  /** {@inheritDoc WorkerCommands.waits} */
  waits(): TaskWait[] {
    return [...this.hosted.tasks.values()].map((task) => ({ task: task.taskName, status: task.status, waitingFor: task.describeWait((id) => this.hosted.plan.tasks[id]!.name) }));
  }

  /** {@inheritDoc WorkerCommands.taskFigures} */
  taskFigures(): WorkerTaskFigures {
    const now = this.hosted.clock();
    const tasks = [...this.hosted.tasks.values()].map((task) => figuresOfTask(task, now));
    return { worker: this.hosted.index, tasks, standbys: this.hosted.standbys.figures() };
  }

  /** {@inheritDoc WorkerCommands.memoryFigures} */
  memoryFigures(withState: boolean): TaskMemoryFigures[] {
    return [...this.hosted.tasks.values()].map((task) => {
      const standby = this.hosted.standbys.of(task.taskId)[0];
      return {
        task: task.taskName,
        causalBytes: task.recorder.memoryBytes,
        stateBytes: withState ? encodedStateBytes(task.stateBackends.values()) : 0,
        standbyStateBytes: withState && standby ? encodedStateBytes(standby.backends.values()) : null,
      };
    });
  }
}
