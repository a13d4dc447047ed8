/**
 * A standby: a passive copy of one task's state as of its last completed checkpoint. It processes no
 * records. When a checkpoint completes it receives the task's incremental snapshot as the persisted bytes
 * (decoded, so it shares no object with the running task) and applies it, so that on failure it can take
 * over at once without reading the checkpoint store.
 *
 * Decoding and applying is work of the process's one thread. A completion queues the bytes
 * ({@link Standby.enqueue}) and the host applies them a moment later, one standby per event-loop turn
 * (`WorkerHost.applyStandby`), so that the records waiting behind a checkpoint completion do not also wait
 * for every standby of the worker. Reading the standby's state (`checkpointId`, `snapshot`, `backends`)
 * applies whatever is still queued first, so nobody sees it behind.
 */
import type { StateBackend } from '../state/backend.js';
import { decodeSnapshot, type TaskSnapshot } from '../state/snapshot.js';

/** Standby state of one task. */
export class Standby {
  /** Bytes of snapshots applied since the standby was created (for metrics). */
  appliedBytes = 0;
  private appliedCheckpoint = -1;
  private appliedSnapshot: TaskSnapshot | null = null;
  private readonly materialised = new Map<string, StateBackend>();
  /** Frames of completed checkpoints not applied yet, oldest first. */
  private readonly queued: Uint8Array[] = [];
  /** A queued frame that failed to apply: the standby cannot stand in any more, and says so when used. */
  private failure: unknown = null;

  constructor(
    /** Task this standby stands in for. */
    readonly taskId: number,
    /** Names of the task's operators, by chain position. */
    private readonly operatorNames: readonly string[],
    private readonly createBackend: (operatorName: string) => StateBackend,
  ) {}

  /** Checkpoint whose state this standby holds, or -1 before the first. */
  get checkpointId(): number {
    this.catchUp();
    return this.appliedCheckpoint;
  }

  /** Positions and operator (non-keyed) state of that checkpoint; keyed state lives in `backends`. */
  get snapshot(): TaskSnapshot | null {
    this.catchUp();
    return this.appliedSnapshot;
  }

  /** Materialised keyed state, per operator name. */
  get backends(): Map<string, StateBackend> {
    this.catchUp();
    return this.materialised;
  }

  /** Whether frames are queued that {@link catchUp} has not applied yet. */
  get behind(): boolean {
    return this.queued.length > 0;
  }

  /** Queues the encoded snapshot of a completed checkpoint; {@link catchUp} applies it. */
  enqueue(frame: Uint8Array): void {
    this.queued.push(frame);
  }

  /** Decodes and applies every queued frame, in order. Throws (now and on every later use) if one is corrupt. */
  catchUp(): void {
    if (this.failure !== null) throw this.failure;
    while (this.queued.length > 0) {
      const frame = this.queued.shift()!;
      try {
        this.apply(decodeSnapshot(frame), frame.length);
      } catch (error) {
        this.failure = error;
        this.queued.length = 0;
        throw error;
      }
    }
  }

  /** Applies the task's snapshot of a completed checkpoint (incremental, or a merged base), after any queued frame. */
  apply(snapshot: TaskSnapshot, bytes = 0): void {
    this.catchUp();
    if (snapshot.checkpointId <= this.appliedCheckpoint) return;
    snapshot.operators.forEach((op, i) => {
      if (!op?.keyed) return;
      const name = this.operatorNames[i]!;
      let backend = this.materialised.get(name);
      if (!backend) {
        backend = this.createBackend(name);
        this.materialised.set(name, backend);
      }
      backend.apply(op.keyed);
    });
    this.appliedSnapshot = {
      ...snapshot,
      operators: snapshot.operators.map((op) => (op && op.state !== undefined ? { state: op.state } : null)),
    };
    this.appliedCheckpoint = snapshot.checkpointId;
    this.appliedBytes += bytes;
  }

  /** Releases the standby's state (it was activated, or its task is gone). */
  async dispose(): Promise<void> {
    this.queued.length = 0;
    for (const backend of this.materialised.values()) await backend.dispose();
    this.materialised.clear();
  }
}
