/**
 * What window operators and windowed joins share: the wall-clock time up to which processing-time
 * windows have fired. A record is never assigned to a window before it: the cached clock may lag the
 * clock that fired the timers, and a fired window must not reopen. The floor is operator state, so a
 * restored task assigns records exactly as the task it replaces.
 */
import type { OperatorSnapshot } from '../state/snapshot.js';
import { KeyedOperatorBase } from './process.js';

/** A keyed operator that assigns records to processing-time windows. */
export abstract class WindowedOperatorBase extends KeyedOperatorBase {
  private processingFloor = -Infinity;

  /** The time a record arriving now belongs to in processing time: never before a fired window. */
  protected processingTimeOfArrival(): number {
    return Math.max(this.task.services.cachedNow(), this.processingFloor);
  }

  override onProcessingTime(now: number): void {
    if (now > this.processingFloor) this.processingFloor = now;
    super.onProcessingTime(now);
  }

  override snapshot(checkpointId: number) {
    return { ...super.snapshot(checkpointId), state: { processingFloor: this.processingFloor } };
  }

  override restore(snapshot: OperatorSnapshot): void {
    super.restore(snapshot);
    const state = snapshot.state as { processingFloor?: number } | undefined;
    if (state?.processingFloor !== undefined) this.processingFloor = state.processingFloor;
  }
}
