/**
 * A standby: a passive copy of one task's state as of its last completed checkpoint. It processes no
 * records. When a checkpoint completes it receives the task's incremental snapshot as the persisted bytes
 * (decoded, so it shares no object with the running task) and applies it, so that on failure it can take
 * over at once without reading the checkpoint store.
 *
 * Decoding and applying is work of the process's one thread. A completion queues the bytes
 * ({@link Standby.enqueue}) and the host applies them in slices of a few milliseconds between other work
 * (`WorkerStandbys`, {@link Standby.catchUpUntil}): a frame is read chunk by chunk
 * (`SnapshotFrameReader`), so the records waiting behind a checkpoint completion wait for one chunk, not for
 * the decoding of a whole delta. Reading the standby's state (`checkpointId`, `snapshot`, `backends`) applies
 * whatever is still queued first, so nobody sees it behind, or half applied.
 */
import type { StateBackend } from '../state/backend.js';
import { SnapshotFrameReader, type TaskSnapshot } from '../state/snapshot.js';

/** Frames queued past which a standby applies the older ones to their end at once. */
export const MAX_QUEUED_FRAMES = 2;

/** Standby state of one task. */
export class Standby {
  /** Bytes of snapshots applied since the standby was created (for metrics). */
  appliedBytes = 0;
  private appliedCheckpoint = -1;
  private appliedSnapshot: TaskSnapshot | null = null;
  private readonly materialised = new Map<string, StateBackend>();
  /** Frames of completed checkpoints not applied yet, oldest first. */
  private readonly queued: Uint8Array[] = [];
  /** The frame being applied chunk by chunk, or null. */
  private applying: SnapshotFrameReader | null = null;
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

  /** Checkpoint of the last frame applied to its end, without applying what is queued (figures: the lag). */
  get heldCheckpoint(): number {
    return this.appliedCheckpoint;
  }

  /** Whether frames are queued, or one is half applied, that {@link catchUp} has not finished. */
  get behind(): boolean {
    return this.queued.length > 0 || this.applying !== null;
  }

  /** Queues the encoded snapshot of a completed checkpoint; {@link catchUp} applies it. */
  enqueue(frame: Uint8Array): void {
    this.queued.push(frame);
  }

  /** Decodes and applies every queued frame, in order. Throws (now and on every later use) if one is corrupt. */
  catchUp(): void {
    this.catchUpUntil(Infinity);
  }

  /**
   * Applies queued frames chunk by chunk until `deadline` (a `performance.now()` time) passes; true once
   * nothing is left. With more than {@link MAX_QUEUED_FRAMES} frames queued, the older ones are applied to
   * their end whatever the deadline, so a standby starved of slices never falls further behind.
   */
  catchUpUntil(deadline: number): boolean {
    if (this.failure !== null) throw this.failure;
    try {
      for (;;) {
        if (this.applying === null) {
          const frame = this.queued.shift();
          if (frame === undefined) return true;
          const reader = new SnapshotFrameReader(frame);
          if (reader.head.checkpointId <= this.appliedCheckpoint) continue;
          this.applying = reader;
          this.applyChanges(reader.head, false);
        }
        const reader = this.applying;
        const hurry = this.queued.length >= MAX_QUEUED_FRAMES;
        for (let chunk = reader.next(); chunk !== null; chunk = reader.next()) {
          const change = reader.head.operators[chunk.operator]!.keyed![chunk.change]!;
          this.backendOf(chunk.operator).apply([{ name: change.name, kind: change.kind, keys: chunk.keys, values: chunk.values, removed: [] }]);
          if (!hurry && performance.now() >= deadline) return false;
        }
        this.applyChanges(reader.head, true);
        this.applied(reader.head, reader.bytes);
        this.applying = null;
        if (performance.now() >= deadline && this.queued.length > 0 && this.queued.length < MAX_QUEUED_FRAMES) return false;
      }
    } catch (error) {
      this.failure = error;
      this.queued.length = 0;
      this.applying = null;
      throw error;
    }
  }

  /** Applies the task's snapshot of a completed checkpoint (incremental, or a merged base), after any queued frame. */
  apply(snapshot: TaskSnapshot, bytes = 0): void {
    this.catchUp();
    if (snapshot.checkpointId <= this.appliedCheckpoint) return;
    snapshot.operators.forEach((op, i) => {
      if (op?.keyed) this.backendOf(i).apply(op.keyed);
    });
    this.applied(snapshot, bytes);
  }

  /**
   * Of a frame's head, the keyed entries it carries itself (a version-1 frame's; none in version 2), or
   * (`removals`) its removed keys, applied after the last chunk. Changes with nothing of the kind are skipped.
   */
  private applyChanges(snapshot: TaskSnapshot, removals: boolean): void {
    snapshot.operators.forEach((op, i) => {
      if (!op?.keyed) return;
      const backend = this.backendOf(i);
      const changes = removals
        ? op.keyed.filter((c) => c.removed.length > 0).map((c) => ({ name: c.name, kind: c.kind, keys: [], values: [], removed: c.removed }))
        : op.keyed.filter((c) => c.keys.length > 0).map((c) => ({ name: c.name, kind: c.kind, keys: c.keys, values: c.values, removed: [] }));
      if (changes.length > 0) backend.apply(changes);
    });
  }

  private backendOf(operator: number): StateBackend {
    const name = this.operatorNames[operator]!;
    let backend = this.materialised.get(name);
    if (!backend) {
      backend = this.createBackend(name);
      this.materialised.set(name, backend);
    }
    return backend;
  }

  /** The snapshot is applied to its end: positions and operator state are the standby's now. */
  private applied(snapshot: TaskSnapshot, bytes: number): void {
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
    this.applying = null;
    for (const backend of this.materialised.values()) await backend.dispose();
    this.materialised.clear();
  }
}
