/**
 * Sinks whose records live in the coordinator (an in-memory `CollectSink`), written by worker processes.
 * A worker's sink task writes through a {@link ProxySink}: every write, with the determinants stored beside
 * it, is a message to the coordinator, where {@link SinkHost} applies it to the real partition. The
 * partition is the external system: what reached the coordinator is visible, what a dying worker had not
 * sent is not, and a replacement reads the visible count and the stored determinants from it (`ready`).
 */
import type { Sink, SinkContext, SinkPartition } from '../connectors/sink.js';
import type { RpcPeer } from '../transport/tcp/index.js';

/** What `ready()` reads of a partition. */
interface PartitionState {
  visible: number;
  determinants: Uint8Array[];
}

/** A worker's stand-in for a sink whose partitions live in the coordinator. */
export class ProxySink<T> implements Sink<T> {
  readonly name: string;

  constructor(
    private readonly rpc: RpcPeer,
    /** The sink's logical node id (the same in every process). */
    private readonly nodeId: number,
    sink: Sink<T>,
  ) {
    this.name = sink.name;
  }

  open(context: SinkContext): SinkPartition<T> {
    return new ProxyPartition<T>(this.rpc, this.nodeId, context);
  }
}

class ProxyPartition<T> implements SinkPartition<T> {
  private visible = 0;
  private stored: Uint8Array[] = [];
  private readonly opened: Promise<void>;

  constructor(
    private readonly rpc: RpcPeer,
    private readonly nodeId: number,
    private readonly context: SinkContext,
  ) {
    const { subtask, parallelism, restoredEpoch, mode, runId, fresh } = context;
    this.opened = this.rpc.call<PartitionState>('sinkOpen', { nodeId, subtask, parallelism, restoredEpoch, mode: mode ?? null, runId: runId ?? null, fresh: fresh ?? null }).then((state) => {
      this.visible = state.visible;
      this.stored = state.determinants;
    });
    // The task awaits `ready()`; an unobserved rejection must not crash the process meanwhile.
    this.opened.catch(() => {});
  }

  ready(): Promise<void> {
    return this.opened;
  }

  write(records: readonly T[], firstIndex: number, determinants?: Uint8Array): void {
    this.rpc.notify('sinkWrite', { nodeId: this.nodeId, subtask: this.context.subtask, firstIndex, records, determinants: determinants ?? null });
    if (determinants !== undefined && determinants.length > 0) this.stored.push(determinants.slice());
    this.visible = firstIndex + records.length;
  }

  determinants(): Uint8Array[] {
    return this.stored;
  }

  pruneDeterminants(keep: (envelope: Uint8Array) => boolean): void {
    // The coordinator's copy keeps them all (recovery skips older epochs); only this mirror is pruned.
    this.stored = this.stored.filter(keep);
  }

  visibleCount(): number {
    return this.visible;
  }

  stage(txn: number, records: readonly T[]): void {
    this.rpc.notify('sinkStage', { nodeId: this.nodeId, subtask: this.context.subtask, txn, records });
  }

  commit(txn: number): void {
    this.rpc.notify('sinkCommit', { nodeId: this.nodeId, subtask: this.context.subtask, txn });
  }

  abortAfter(txn: number): void {
    this.rpc.notify('sinkAbortAfter', { nodeId: this.nodeId, subtask: this.context.subtask, txn });
  }

  async flush(): Promise<void> {
    await this.rpc.call('sinkFlush', { nodeId: this.nodeId, subtask: this.context.subtask });
  }
}

/** The coordinator's side: applies workers' writes to the real partitions. */
export class SinkHost {
  private readonly partitions = new Map<string, SinkPartition<unknown>>();

  constructor(
    /** Sinks whose partitions live here, by logical node id. */
    private readonly sinks: ReadonlyMap<number, Sink<unknown>>,
    private readonly jobDirectory: string,
  ) {}

  /** Serves the sink messages of one worker's control connection. */
  serve(rpc: RpcPeer): void {
    type Key = { nodeId: number; subtask: number };
    rpc.handle('sinkOpen', async (params) => {
      const { nodeId, subtask, ...rest } = params as Key & { parallelism: number; restoredEpoch: number; mode: SinkContext['mode'] | null; runId: string | null; fresh: boolean | null };
      const context: SinkContext = { subtask, parallelism: rest.parallelism, jobDirectory: this.jobDirectory, restoredEpoch: rest.restoredEpoch };
      if (rest.mode !== null) context.mode = rest.mode;
      if (rest.runId !== null) context.runId = rest.runId;
      if (rest.fresh !== null) context.fresh = rest.fresh;
      const partition = this.partition(nodeId, context);
      await partition.ready?.();
      return { visible: partition.visibleCount(), determinants: partition.determinants?.() ?? [] } satisfies PartitionState;
    });
    rpc.handle('sinkWrite', (params) => {
      const { nodeId, subtask, firstIndex, records, determinants } = params as Key & { firstIndex: number; records: unknown[]; determinants: Uint8Array | null };
      const partition = this.existing(nodeId, subtask);
      // A replacement writes each index once (it read the visible count first): skip what is visible.
      const skip = partition.visibleCount() - firstIndex;
      if (skip >= records.length) return;
      partition.write(skip > 0 ? records.slice(skip) : records, firstIndex + Math.max(0, skip), determinants ?? undefined);
    });
    rpc.handle('sinkStage', (params) => {
      const { nodeId, subtask, txn, records } = params as Key & { txn: number; records: unknown[] };
      this.existing(nodeId, subtask).stage(txn, records);
    });
    rpc.handle('sinkCommit', (params) => {
      const { nodeId, subtask, txn } = params as Key & { txn: number };
      this.existing(nodeId, subtask).commit(txn);
    });
    rpc.handle('sinkAbortAfter', (params) => {
      const { nodeId, subtask, txn } = params as Key & { txn: number };
      this.existing(nodeId, subtask).abortAfter(txn);
    });
    rpc.handle('sinkFlush', async (params) => {
      const { nodeId, subtask } = params as Key;
      await this.existing(nodeId, subtask).flush?.();
    });
  }

  /** The partition of `context.subtask`, opened anew for every task that opens it (a replacement reads its state). */
  private partition(nodeId: number, context: SinkContext): SinkPartition<unknown> {
    const sink = this.sinks.get(nodeId);
    if (!sink) throw new Error(`no sink with node id ${nodeId} lives in the coordinator`);
    const partition = sink.open(context);
    this.partitions.set(`${nodeId}/${context.subtask}`, partition);
    return partition;
  }

  private existing(nodeId: number, subtask: number): SinkPartition<unknown> {
    const partition = this.partitions.get(`${nodeId}/${subtask}`);
    if (!partition) throw new Error(`sink ${nodeId} partition ${subtask} was written before it was opened`);
    return partition;
  }
}
