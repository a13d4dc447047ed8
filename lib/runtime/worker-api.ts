/**
 * The two directions of the control connection between the coordinator and one worker. A worker hosts
 * some of the job's tasks (and standbys of others); the coordinator places tasks, drives checkpoints and
 * runs recovery. In the embedded runtime the one worker lives in the coordinator's process and these are
 * plain calls; with `workers: N` each is a message on the control connection (`lib/cluster/`).
 *
 * Everything that crosses is plain data (numbers, strings, byte arrays): no object of one task is ever
 * handed to another, so the embedded runtime obeys the same rule the processes do.
 */
import type { EpochSegment } from '../../determinants/replica.js';
import type { TaskWait } from './events.js';
import type { TaskMemoryFigures } from './memory-figures.js';
import type { WorkerTaskFigures } from './task-figures.js';

/** One task to run on a worker. */
export interface TaskDeploy {
  /** Task id. */
  taskId: number;
  /** Its merged snapshot (encoded) to restore from, or null for a fresh start. */
  snapshot: Uint8Array | null;
  /** Determinants to replay (its own log from the checkpoint, I16; or the oracle's trace), or null. */
  replay: EpochSegment[] | null;
  /** With retained traces: the task's trace before `replay`, which its new log continues. */
  history: EpochSegment[] | null;
}

/** What a worker runs, at the start or after a global rollback. */
export interface DeploySpec {
  /** The checkpoint restored from, or null for a fresh start. */
  checkpoint: number | null;
  /** Tasks hosted by this worker. */
  tasks: TaskDeploy[];
  /** Standbys hosted by this worker: task id, and its state (merged snapshot) or null before any checkpoint. */
  standbys: { taskId: number; snapshot: Uint8Array | null }[];
  /** Task id → worker index, for every task of the job. */
  placement: number[];
  /** Channel index → incarnation. */
  incarnations: number[];
  /** Sink tasks that show the records a rollback regenerates after what they showed (at-least-once, I23). */
  showAfterVisible: number[];
  /** The job's run (`SinkContext.runId`), and whether nothing of it was written yet (`SinkContext.fresh`). */
  run: { id: string; fresh: boolean };
}

/** A channel wired anew in a recovery round. */
export interface ChannelRewire {
  /** Channel index. */
  index: number;
  /** Its new incarnation. */
  incarnation: number;
}

/** A channel whose producer failed: frames of incarnations up to `incarnation` are refused from now on. */
export interface ChannelFence {
  /** Channel index. */
  index: number;
  /** The newest incarnation the failed producer (or a predecessor) used. */
  incarnation: number;
}

/** A replacement to create on a worker in a recovery round. */
export interface ReplacementDeploy {
  /** Task id. */
  taskId: number;
  /** The checkpoint it restores from (-1: none yet, start empty). */
  checkpoint: number;
  /** The merged snapshot to restore from when the worker's standby does not hold `checkpoint`. */
  snapshot: Uint8Array | null;
  /**
   * The coordinator found a standby here holding `checkpoint` ({@link WorkerCommands.standbyPositions}) and
   * sent no snapshot: the round fails (and recovery escalates) if that standby is gone, never starts empty.
   */
  fromStandby?: boolean;
  /** The longest copy of its log from the checkpoint on (exactly-once), or null (at-least-once). */
  replay: EpochSegment[] | null;
  /** With retained traces: its predecessor's trace, which the new log continues. */
  history: EpochSegment[] | null;
  /** Its sinks show what it regenerates after what they showed, never dropping by output index (at-least-once, I35). */
  showAfterVisible?: boolean;
}

/** One round of local recovery, as one worker sees it. */
export interface RoundSpec {
  /** Task id → worker index, replacements included. */
  placement: number[];
  /** Channels touching a failed task, with their new incarnations (every worker gets all of them). */
  channels: ChannelRewire[];
  /** Replacements this worker hosts, upstream first. */
  replacements: ReplacementDeploy[];
  /** Per channel into a failed task: the last sequence number its checkpoint consumed (producers replay after it). */
  replayAfter: { index: number; afterSeq: number }[];
  /**
   * Channels out of replacements that regenerate without determinants (at-least-once, I35): their live
   * consumers take every element sent on the new incarnation, numbered anew, and the replacement skips none.
   */
  renumbered: number[];
}

/** What a worker reports of a replacement it created. */
export interface ReplacementReport {
  taskId: number;
  /** Where its state came from. */
  state: 'standby' | 'checkpoint store' | 'empty (no checkpoint yet)';
  /** Determinant entries it replays. */
  replayEntries: number;
  /** Per input: the last sequence number its recorded log consumes (restored position plus ORDER counts). */
  recordedConsumption: number[];
}

/** Per sink operator of a task: what its partition shows and how far the task regenerated. */
export interface SinkProgress {
  /** Sink operator name. */
  sink: string;
  /** Records the partition shows. */
  visible: number;
  /** The task's next output index. */
  regenerated: number;
}

/** A failure a worker noticed. */
export interface FailureReport {
  taskId: number;
  /** The error (in-process) or its description (across processes). */
  cause: unknown;
}

/** Figures a worker keeps; the coordinator sums them. */
export interface WorkerFigures {
  recordsIn: number;
  late: number;
  deadLetters: number;
  inflightSpill: { chunks: number; bytes: number; chunksReadBack: number };
  /** Per task: elements delivered (stall detection). */
  elementsIn: number;
  /** Whether some task holds work it has not done (stall detection). */
  holdsWork: boolean;
}

/** What the coordinator asks of a worker. */
export interface WorkerCommands {
  /** Builds `spec`'s tasks and standbys (replacing whatever ran before: a global rollback). */
  deploy(spec: DeploySpec): Promise<void>;
  /**
   * Starts running the deployed tasks (once faults are armed: "after N records" counts from the start);
   * `clockOrigin` is the wall-clock ms at which the job clock reads 0, so every process shares one job clock.
   */
  run(clockOrigin: number): void;
  /** Stops and forgets every task (global rollback, stop, failure of the job). */
  stopTasks(): Promise<void>;
  /** Applies one round of local recovery. */
  round(spec: RoundSpec): Promise<ReplacementReport[]>;
  /** The replacement `taskId` passed the orphan check: it may go live. */
  goLive(taskId: number): void;
  /** Asks the sources hosted here to inject barrier `checkpointId`. */
  triggerSources(checkpointId: number): void;
  /** Checkpoint `checkpointId` completed. */
  checkpointCompleted(checkpointId: number): void;
  /** Checkpoint `checkpointId` was abandoned. */
  checkpointAborted(checkpointId: number): void;
  /** A standby hosted here gets its task's snapshot of a completed checkpoint. */
  applyStandby(taskId: number, frame: Uint8Array): void;
  /** Creates a standby here for `taskId` from `snapshot` (merged, from the store) or empty. */
  addStandby(taskId: number, snapshot: Uint8Array | null): void;
  /** Drops the standbys hosted here for `taskId`. */
  dropStandbys(taskId: number): void;
  /** Kills tasks now (fault injection inside the process). */
  killTasks(taskIds: readonly number[]): void;
  /** Kills `taskId` once it has processed `records` more input elements. */
  armKill(taskId: number, records: number): void;
  /**
   * For each of `taskIds` with a standby here that holds checkpoint `checkpoint`: that checkpoint's input
   * positions (per input channel, the last element consumed, I10). A replacement activating such a standby
   * needs nothing from the checkpoint store, so the coordinator neither merges nor sends its state.
   */
  standbyPositions(taskIds: readonly number[], checkpoint: number): Promise<Map<number, number[]>>;
  /**
   * For each of `taskIds`: the longest copy of its log from `fromEpoch` held by a live task here. First, in
   * the same turn, the channels of `fences` refuse further frames of the incarnations given (their producers
   * failed): what live tasks here hold from a failed task stays covered by the copies returned (I1, I14).
   */
  replicas(taskIds: readonly number[], fromEpoch: number, fences: readonly ChannelFence[]): Promise<Map<number, EpochSegment[]>>;
  /** Own logs of the live tasks here (all, or `taskIds`), from `fromEpoch`; with `whole`, from epoch 0 too. */
  ownLogs(taskIds: readonly number[] | null, fromEpoch: number, whole: boolean): Promise<Map<number, { replay: EpochSegment[]; history: EpochSegment[] | null }>>;
  /** What the consumer of channel `index` (hosted here) holds from incarnations before `before`: the last sequence number. */
  holdings(index: number, before: number): Promise<number>;
  /** For live sink tasks here among `taskIds`: what their partitions show and store. */
  sinkStates(taskIds: readonly number[]): Promise<Map<number, { progress: SinkProgress[]; determinants: Uint8Array[] }>>;
  /** Every hosted task's whole trace (retained determinants). */
  traces(): Promise<Map<number, EpochSegment[]>>;
  /** What each hosted task waits for (stall reports). */
  waits(): Promise<TaskWait[]>;
  /** Figures, summed into the job's progress. */
  figures(): WorkerFigures;
  /** Per hosted task and standby: counters and sizes (metrics, the dashboard). */
  taskFigures(): Promise<WorkerTaskFigures>;
  /** Per hosted task: memory figures (benchmarks). */
  memoryFigures(withState: boolean): Promise<TaskMemoryFigures[]>;
  /** Every task finished: commit what transactional sinks staged, close operators. */
  finish(): Promise<void>;
  /** Releases the worker's stores (the job ended). */
  close(): Promise<void>;
}

/** What a worker tells the coordinator. */
export interface WorkerReports {
  /** A task took its snapshot of `checkpointId` (encoded). */
  acknowledge(worker: number, taskId: number, checkpointId: number, frame: Uint8Array): void;
  /**
   * With retained determinants (verification): a task's own log of `epoch`, which it closed by taking a
   * later checkpoint, sent before that checkpoint's acknowledgement. The coordinator keeps it, so that the
   * trace of a task whose process died is whole up to the checkpoint its replacement restores (copies held
   * downstream end at the task's last output).
   */
  closedEpoch(worker: number, taskId: number, epoch: number, bytes: Uint8Array): void;
  /** A task finished; its final snapshot stands for it in every later checkpoint. */
  taskFinished(worker: number, taskId: number, finalSnapshot: Uint8Array): void;
  /** Tasks failed, noticed in one go. */
  tasksFailed(worker: number, failures: FailureReport[]): void;
  /** A replacement's log ran out: what it regenerated per writer, and per sink (I14). */
  logEnded(worker: number, taskId: number, regenerated: number[], sinks: SinkProgress[], recordsReplayed: number): void;
  /** The sink of task `taskId` made `count` records visible at job-clock `at`, `latency` ms after their input entered the job. */
  sinkOutput(worker: number, taskId: number, at: number, count: number, latency: number): void;
  /** Source tasks read `count` records at job-clock `at`. */
  sourceInput(worker: number, at: number, count: number): void;
  /** An event of a hosted task. */
  taskEvent(worker: number, event: { type: 'timers-cancelled'; task: string; intervals: number }): void;
}
