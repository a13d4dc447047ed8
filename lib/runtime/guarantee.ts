/**
 * What a job guaranteed about its output, as it ran. A job starts out promising exactly-once. A recovery
 * that had to roll back output some sinks had already shown (an escalation, I16) cannot keep that promise
 * on those sinks: from the checkpoint it rolled back to, they show every record at least once, some
 * perhaps twice, and the records since then may come from two executions. The result of `done` and
 * `--json` carry the guarantee that was kept, never more.
 */

/** The guarantee a job kept on its output. */
export type Guarantee =
  | {
      /** Every record of every sink is that of one failure-free execution, shown once. */
      kind: 'exactly-once';
    }
  | {
      /** Since `sinceCheckpoint`, the named sinks show every record at least once, possibly twice. */
      kind: 'at-least-once';
      /** The checkpoint the rollback restarted from: output before it is exactly-once. */
      sinceCheckpoint: number;
      /** Sinks (operator names) whose output is at-least-once from there on. */
      sinks: string[];
      /** Why, in words. */
      reason: string;
    };

/** The guarantee a job starts with. */
export const EXACTLY_ONCE: Guarantee = Object.freeze({ kind: 'exactly-once' });

/** `current`, weakened by a rollback from `checkpoint` that regenerated output of `sinks`. */
export function degraded(current: Guarantee, checkpoint: number, sinks: readonly string[], reason: string): Guarantee {
  if (current.kind === 'at-least-once') {
    const all = [...new Set([...current.sinks, ...sinks])].sort();
    return { kind: 'at-least-once', sinceCheckpoint: Math.min(current.sinceCheckpoint, checkpoint), sinks: all, reason: current.reason };
  }
  return { kind: 'at-least-once', sinceCheckpoint: checkpoint, sinks: [...new Set(sinks)].sort(), reason };
}

/** One line for people: "exactly-once", or "at-least-once since checkpoint 4 on out, totals". */
export function describeGuarantee(guarantee: Guarantee): string {
  if (guarantee.kind === 'exactly-once') return 'exactly-once';
  return `at-least-once since checkpoint ${guarantee.sinceCheckpoint} on ${guarantee.sinks.join(', ')} (${guarantee.reason})`;
}
