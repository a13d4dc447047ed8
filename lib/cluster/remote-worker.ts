/**
 * A worker process as the coordinator sees it: every `WorkerCommands` method is a message on the control
 * connection (a call where an answer is needed, a notification where order suffices). Messages on one
 * connection arrive in order, so an abort sent before a recovery round is applied before it.
 *
 * A worker that is gone holds nothing: queries on a closed connection answer empty, commands are dropped.
 * The coordinator learns of the death from the fleet, not from a failed call.
 */
import type { EpochSegment } from '../../determinants/replica.js';
import type { TaskWait } from '../runtime/events.js';
import type { TaskMemoryFigures } from '../runtime/memory-figures.js';
import type { WorkerTaskFigures } from '../runtime/task-figures.js';
import type { ChannelFence, DeploySpec, ReplacementReport, RoundSpec, SinkProgress, WorkerCommands, WorkerFigures } from '../runtime/worker-api.js';
import type { RpcPeer } from '../transport/tcp/index.js';

const EMPTY_FIGURES: WorkerFigures = { recordsIn: 0, late: 0, deadLetters: 0, inflightSpill: { chunks: 0, bytes: 0, chunksReadBack: 0 }, elementsIn: 0, holdsWork: false };

/** Long operations (deploying state, collecting traces) get more time than the default call. */
const LONG_CALL_MS = 120_000;

/** The coordinator's link to one worker process. */
export class RemoteWorker implements WorkerCommands {
  /** The latest figures the worker pushed. */
  private latest: WorkerFigures = EMPTY_FIGURES;

  constructor(
    /** The worker's index. */
    readonly index: number,
    private readonly rpc: RpcPeer,
  ) {}

  /** Whether the control connection is open. */
  get alive(): boolean {
    return this.rpc.connection.isOpen;
  }

  /** The worker pushed its figures. */
  updateFigures(figures: WorkerFigures): void {
    this.latest = figures;
  }

  private async ask<T>(method: string, params: unknown, fallback: T, timeoutMs?: number): Promise<T> {
    if (!this.alive) return fallback;
    try {
      return await this.rpc.call<T>(method, params, timeoutMs ? { timeoutMs } : {});
    } catch (error) {
      if (!this.alive) return fallback;
      throw error;
    }
  }

  private tell(method: string, params: unknown): void {
    if (this.alive) this.rpc.notify(method, params);
  }

  deploy(spec: DeploySpec): Promise<void> {
    return this.ask('deploy', spec, undefined, LONG_CALL_MS);
  }

  run(clockOrigin: number): void {
    this.tell('run', { clockOrigin });
  }

  stopTasks(): Promise<void> {
    return this.ask('stopTasks', null, undefined);
  }

  round(spec: RoundSpec): Promise<ReplacementReport[]> {
    return this.ask('round', spec, [], LONG_CALL_MS);
  }

  goLive(taskId: number): void {
    this.tell('goLive', { taskId });
  }

  triggerSources(checkpointId: number): void {
    this.tell('triggerSources', { checkpointId });
  }

  checkpointCompleted(checkpointId: number): void {
    this.tell('checkpointCompleted', { checkpointId });
  }

  checkpointAborted(checkpointId: number): void {
    this.tell('checkpointAborted', { checkpointId });
  }

  applyStandby(taskId: number, frame: Uint8Array): void {
    this.tell('applyStandby', { taskId, frame });
  }

  addStandby(taskId: number, snapshot: Uint8Array | null): void {
    this.tell('addStandby', { taskId, snapshot });
  }

  dropStandbys(taskId: number): void {
    this.tell('dropStandbys', { taskId });
  }

  killTasks(taskIds: readonly number[]): void {
    this.tell('killTasks', { taskIds });
  }

  armKill(taskId: number, records: number): void {
    this.tell('armKill', { taskId, records });
  }

  async standbyPositions(taskIds: readonly number[], checkpoint: number): Promise<Map<number, number[]>> {
    return new Map(await this.ask<[number, number[]][]>('standbyPositions', { taskIds, checkpoint }, []));
  }

  async replicas(taskIds: readonly number[], fromEpoch: number, fences: readonly ChannelFence[]): Promise<Map<number, EpochSegment[]>> {
    return new Map(await this.ask<[number, EpochSegment[]][]>('replicas', { taskIds, fromEpoch, fences }, []));
  }

  async ownLogs(taskIds: readonly number[] | null, fromEpoch: number, whole: boolean): Promise<Map<number, { replay: EpochSegment[]; history: EpochSegment[] | null }>> {
    return new Map(await this.ask<[number, { replay: EpochSegment[]; history: EpochSegment[] | null }][]>('ownLogs', { taskIds, fromEpoch, whole }, [], LONG_CALL_MS));
  }

  holdings(index: number, before: number): Promise<number> {
    return this.ask('holdings', { index, before }, -1);
  }

  async sinkStates(taskIds: readonly number[]): Promise<Map<number, { progress: SinkProgress[]; determinants: Uint8Array[] }>> {
    return new Map(await this.ask<[number, { progress: SinkProgress[]; determinants: Uint8Array[] }][]>('sinkStates', { taskIds }, []));
  }

  async traces(): Promise<Map<number, EpochSegment[]>> {
    return new Map(await this.ask<[number, EpochSegment[]][]>('traces', null, [], LONG_CALL_MS));
  }

  waits(): Promise<TaskWait[]> {
    return this.ask('waits', null, []);
  }

  figures(): WorkerFigures {
    return this.latest;
  }

  taskFigures(): Promise<WorkerTaskFigures> {
    return this.ask('taskFigures', null, { worker: this.index, tasks: [], standbys: [] });
  }

  memoryFigures(withState: boolean): Promise<TaskMemoryFigures[]> {
    return this.ask('memoryFigures', { withState }, [], LONG_CALL_MS);
  }

  finish(): Promise<void> {
    return this.ask('finish', null, undefined, LONG_CALL_MS);
  }

  close(): Promise<void> {
    return this.ask('close', null, undefined);
  }
}
