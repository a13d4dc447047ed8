/**
 * What a worker reports of each task and standby it hosts, for metrics and the dashboard: counters since
 * the task's (or replacement's) start and sizes held now. The coordinator asks for them about once a
 * second (`WorkerCommands.taskFigures`); reading them walks the task's writers and logs, never a record.
 */
import type { Task } from './task.js';
import type { Standby } from './standby.js';

/** Figures of one running task. */
export interface TaskFigures {
  /** Task id. */
  taskId: number;
  /** Input elements delivered (records, watermarks, barriers), or for a source, records read. */
  recordsIn: number;
  /** Records sent on the task's output channels. */
  recordsOut: number;
  /** Time spent waiting for output credit (backpressure), in ms, since the task started. */
  backpressureMs: number;
  /** Whether it waits for credit right now. */
  backpressured: boolean;
  /** Bytes of the task's own determinant log in memory. */
  determinantBytes: number;
  /** Bytes of the copies of upstream tasks' determinant logs it holds (replicas). */
  replicaBytes: number;
  /** In-flight log elements held in memory (all output channels). */
  inflightRecords: number;
  /** Encoded bytes of the sealed in-flight chunks held in memory (a chunk being filled holds records, counted above). */
  inflightMemoryBytes: number;
  /** Bytes of in-flight chunks spilled to disk and still held there. */
  inflightSpilledBytes: number;
  /** The task's epoch: the last checkpoint it took. */
  epoch: number;
  /** Whether it is replaying determinants (a replacement that is not live yet). */
  replaying: boolean;
  /** Determinant entries replayed so far, while replaying (null when live). */
  replayEntriesRead: number | null;
}

/** Figures of one standby. */
export interface StandbyFigures {
  /** The task it stands in for. */
  taskId: number;
  /** The checkpoint whose state it holds (-1 before the first). */
  checkpointId: number;
  /** Snapshot bytes applied since it was created. */
  appliedBytes: number;
}

/** What one worker reports. */
export interface WorkerTaskFigures {
  /** Worker index. */
  worker: number;
  tasks: TaskFigures[];
  standbys: StandbyFigures[];
}

/** The figures of `task` now (`now` on the job clock, to close a wait for credit still going on). */
export function figuresOfTask(task: Task, now: number): TaskFigures {
  let recordsOut = 0;
  let inflightRecords = 0;
  let inflightMemoryBytes = 0;
  let inflightSpilledBytes = 0;
  for (const writer of task.allWriters) {
    recordsOut += writer.recordsOut;
    const footprint = writer.inflight?.footprint();
    if (!footprint) continue;
    inflightRecords += footprint.memoryRecords;
    inflightMemoryBytes += footprint.memoryBytes;
    inflightSpilledBytes += footprint.spilledBytes;
  }
  return {
    taskId: task.taskId,
    recordsIn: task.source ? task.source.recordsRead : task.elementsIn,
    recordsOut,
    backpressureMs: task.backpressureMsAt(now),
    backpressured: task.backpressured,
    determinantBytes: task.recorder.ownLogBytes,
    replicaBytes: task.recorder.replicaBytes,
    inflightRecords,
    inflightMemoryBytes,
    inflightSpilledBytes,
    epoch: task.epoch,
    replaying: task.recorder.reader !== null,
    replayEntriesRead: task.recorder.reader?.entriesRead ?? null,
  };
}

/** The figures of `standby`. */
export function figuresOfStandby(standby: Standby): StandbyFigures {
  return { taskId: standby.taskId, checkpointId: standby.heldCheckpoint, appliedBytes: standby.appliedBytes };
}
