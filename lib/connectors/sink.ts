/**
 * The sink connector contract.
 *
 * A sink is split into partitions, one per sink task. A partition is the external system's side: it
 * survives the death of the task that writes it, and a replacement task opens the same partition
 * again. Which calls a task makes depends on the job's recovery mode:
 *
 * - immediate output (`none`, `at-least-once`, `exactly-once`): `write` makes records visible at once.
 *   Each record has an output index (0, 1, 2, … per partition); `visibleCount` tells a recovering task
 *   how many are already visible, so that it writes each index once.
 * - transactional output (`global-rollback`): records are staged in transaction *e* (the epoch they were
 *   produced in) and become visible when checkpoint *e + 1* completes (`commit`). A rollback discards
 *   transactions that no completed checkpoint covers (`abortAfter`).
 */

/** What a partition is told when a task opens it. */
export interface SinkContext {
  /** Sink task index. */
  subtask: number;
  /** Number of sink tasks. */
  parallelism: number;
  /** The job's directory, for sinks that keep files. */
  jobDirectory: string;
  /**
   * The epoch the opening task resumes in: the id of the checkpoint it was restored from, 0 for a fresh
   * start. Determinants stored for earlier epochs are needed by no recovery (I2), so a partition that
   * must read them back (`determinants`) may stop at the first record of an earlier epoch.
   */
  restoredEpoch: number;
  /**
   * Which calls the opening task will make: `write` (`immediate`, `deduplicating`) or `stage`/`commit`
   * (`transactional`), following the job's recovery mode. Absent when the runtime opens a dead task's
   * partition only to read what it stored. A sink that supports one of them can refuse the other here.
   */
  mode?: 'immediate' | 'transactional' | 'deduplicating';
  /**
   * Identity of this run of the job: the same in every task and every worker process, and kept by a
   * resumed run (`resume`), so that a sink can tell its own earlier records from another run's.
   */
  runId?: string;
  /**
   * True when nothing of this run was written yet: the first deployment of a run that does not resume.
   * False for replacements, rollbacks and resumed runs (what the run wrote before must be read back);
   * absent when the opener does not know.
   */
  fresh?: boolean;
}

/** One partition of a sink. */
export interface SinkPartition<T> {
  /**
   * Resolves once the partition can answer {@link visibleCount} and {@link determinants} (a partition
   * in an external system may have to read its own tail first). The runtime awaits it before the task
   * that opened the partition processes anything, and before recovery reads a dead sink's determinants.
   * Rejecting fails the task, as an operator error would. Default: ready at once.
   */
  ready?(): Promise<void>;
  /**
   * Makes `records` visible. `firstIndex` is the output index of `records[0]`; it always equals
   * `visibleCount()` (the runtime drops indexes already visible before calling). Under exactly-once,
   * `determinants` is an envelope of the writing task's determinants that must be stored no later than
   * the records become visible (atomically with them where the system allows), see
   * {@link SinkPartition.determinants}. `epoch` is the epoch the records were produced in (the id of
   * the last checkpoint the writing task took, 0 before the first): a partition that stores it beside
   * the records can tell later which of them a recovery from checkpoint *c* may regenerate.
   */
  write(records: readonly T[], firstIndex: number, determinants?: Uint8Array, epoch?: number): void;
  /**
   * Envelopes stored by `write`, oldest first. A sink task is the last hop: nobody downstream holds its
   * determinants, so its replacement reads them here. Partitions without it cannot recover a failed sink
   * task causally (recovery then escalates to a global rollback).
   */
  determinants?(): Uint8Array[];
  /** Drops stored envelopes for which `keep` is false (those no recovery can need any more). */
  pruneDeterminants?(keep: (envelope: Uint8Array) => boolean): void;
  /** Number of records visible so far: the next output index. */
  visibleCount(): number;
  /** Adds records to transaction `txn` (not visible yet). */
  stage(txn: number, records: readonly T[]): void;
  /** Makes every staged transaction up to `txn` visible, in order. Idempotent. */
  commit(txn: number): void;
  /** Discards staged transactions after `txn`. */
  abortAfter(txn: number): void;
  /** Waits until everything written or committed so far is durable. */
  flush?(): Promise<void>;
  /** Releases resources held for the writing task (the partition's data stays). */
  close?(): Promise<void> | void;
}

/** A sink connector. */
export interface Sink<T> {
  /** Name shown in plans and errors. */
  readonly name: string;
  /**
   * Where the sink's partitions live with worker processes: `'coordinator'` for a sink whose records only
   * the launching process can read (an in-memory `CollectSink`): workers then write to it through the
   * coordinator. By default a worker opens the partition itself (files, Kafka: external systems).
   */
  readonly location?: 'coordinator' | 'worker';
  /** Opens (or re-opens, for a replacement task) the partition of sink task `context.subtask`. */
  open(context: SinkContext): SinkPartition<T>;
}
