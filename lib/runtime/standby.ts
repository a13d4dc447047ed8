/**
 * A standby: a passive copy of one task's state as of its last completed checkpoint. It processes no
 * records. When a checkpoint completes it receives the task's incremental snapshot (decoded from the
 * persisted bytes, so it shares no object with the running task) and applies it, so that on failure
 * it can take over at once without reading the checkpoint store.
 */
import type { StateBackend } from '../state/backend.js';
import type { TaskSnapshot } from '../state/snapshot.js';

/** Standby state of one task. */
export class Standby {
  /** Checkpoint whose state this standby holds, or -1 before the first. */
  checkpointId = -1;
  /** Positions and operator (non-keyed) state of that checkpoint; keyed state lives in `backends`. */
  snapshot: TaskSnapshot | null = null;
  /** Materialised keyed state, per operator name. */
  readonly backends = new Map<string, StateBackend>();
  /** Bytes of snapshots applied since the standby was created (for metrics). */
  appliedBytes = 0;

  constructor(
    /** Task this standby stands in for. */
    readonly taskId: number,
    /** Names of the task's operators, by chain position. */
    private readonly operatorNames: readonly string[],
    private readonly createBackend: (operatorName: string) => StateBackend,
  ) {}

  /** Applies the task's snapshot of a completed checkpoint (incremental, or a merged base). */
  apply(snapshot: TaskSnapshot, bytes = 0): void {
    if (snapshot.checkpointId <= this.checkpointId) return;
    snapshot.operators.forEach((op, i) => {
      if (!op?.keyed) return;
      const name = this.operatorNames[i]!;
      let backend = this.backends.get(name);
      if (!backend) {
        backend = this.createBackend(name);
        this.backends.set(name, backend);
      }
      backend.apply(op.keyed);
    });
    this.snapshot = {
      ...snapshot,
      operators: snapshot.operators.map((op) => (op && op.state !== undefined ? { state: op.state } : null)),
    };
    this.checkpointId = snapshot.checkpointId;
    this.appliedBytes += bytes;
  }

  /** Releases the standby's state (it was activated, or its task is gone). */
  async dispose(): Promise<void> {
    for (const backend of this.backends.values()) await backend.dispose();
    this.backends.clear();
  }
}
