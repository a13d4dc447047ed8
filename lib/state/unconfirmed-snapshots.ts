/**
 * What each snapshot took out of the tables' change tracking (`T`: the keys, or a table's own record of
 * them), until its checkpoint completes: an aborted checkpoint hands it back, so that the next snapshot
 * carries those keys again (I9).
 */
export class UnconfirmedSnapshots<T> {
  private readonly taken = new Map<number, Map<string, T>>();

  /**
   * Snapshot `checkpointId` took `keys` (by state name): the collections the tables replaced with new ones,
   * so taking a snapshot copies no key.
   */
  record(checkpointId: number, keys: Map<string, T>): void {
    this.taken.set(checkpointId, keys);
  }

  /** Checkpoint `checkpointId` completed: it and older ones need nothing handed back. */
  completed(checkpointId: number): void {
    for (const id of this.taken.keys()) if (id <= checkpointId) this.taken.delete(id);
  }

  /** Checkpoint `checkpointId` was aborted: what it took, by state name, goes to `handBack`. */
  aborted(checkpointId: number, handBack: (name: string, taken: T) => void): void {
    const taken = this.taken.get(checkpointId);
    if (!taken) return;
    this.taken.delete(checkpointId);
    for (const [name, keys] of taken) handBack(name, keys);
  }
}
