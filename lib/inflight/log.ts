/**
 * The in-flight log of one output channel: every element the channel sent, grouped by epoch, kept
 * until the checkpoint closing the epoch completes (I2), so that a replacement consumer can be fed
 * again from any live epoch, skipping what it already has.
 *
 * Elements are appended by reference into a chunk of {@link CHUNK} elements (records are immutable once
 * emitted, I11), so appending costs a pointer copy per record. A chunk that is complete (full, or closed by
 * the start of an epoch) is sealed, and the job's {@link ChunkRetention} decides what stays: the
 * references (the default: a chunk truncated at its checkpoint is never read again, so encoding it would
 * be wasted), or msgpackr bytes with the references dropped (`inflightRetention: 'encoded'`). A replay
 * decodes an encoded chunk when it reaches it. Past the task's memory budget, sealed chunks spill to lmdb
 * oldest first, encoded then if they were not yet, and the task keeps running.
 */
import { Batch, ElementType } from '../transport/batch.js';
import { ControlMarker, decodeChunk, encodeChunk, keepReferences, type ChunkRetention } from './retention.js';
import type { InflightSpillStore } from './spill.js';

const CHUNK = 4096;
/** Element and timestamp arrays kept for new chunks, at most (a log rolls a chunk at every checkpoint). */
const SPARE_ARRAYS = 16;
/** How long a measured size of the encoded records stands before {@link InflightLog.footprint} measures again. */
const ESTIMATE_STALE_MS = 10_000;

/** A run of consecutive elements. */
interface Chunk {
  /** Epoch the chunk's elements belong to. */
  epoch: number;
  /** Sequence number of the first element. */
  firstSeq: number;
  /** Elements in use. */
  count: number;
  /** Records and control markers, while filled and once sealed by reference; null when encoded or spilled. */
  elements: unknown[] | null;
  /** Event timestamps, alongside `elements`. */
  timestamps: Float64Array | null;
  /** The sealed chunk's elements and timestamps, encoded, when its retention keeps bytes; null once spilled. */
  encoded: Uint8Array | null;
  /** Whether the chunk is complete (no element is appended to it any more). */
  sealed: boolean;
  /** Per batch sent: [seq of its first element, its ingest time], flattened. */
  ingest: number[];
  /** Index under which the chunk was spilled, or -1. */
  spilledAs: number;
  /** Length of the encoded chunk (0 while it is kept by reference). */
  encodedBytes: number;
}

/** What an in-flight log holds now (metrics). */
export interface InflightFootprint {
  /** Elements held in memory, encoded or by reference. */
  memoryRecords: number;
  /**
   * Bytes held in memory, as encoded: the bytes of encoded chunks, plus, for chunks held by reference,
   * their elements times the encoded size per element last measured on one of them.
   */
  memoryBytes: number;
  /** Encoded bytes of the chunks spilled to disk. */
  spilledBytes: number;
}

/** Shared per task: the memory budget of all its in-flight logs. */
export class InflightBudget {
  /** Records held in memory by the task's logs. */
  inMemory = 0;
  constructor(
    /** Records the task may hold in memory before spilling. */
    readonly maxRecords: number,
  ) {}
}

/** The in-flight log of one output channel. */
export class InflightLog {
  private readonly chunks: Chunk[] = [];
  private current: Chunk;
  private epoch: number;
  private spillCounter = 0;
  /** The spilled chunk loaded last: a replay reads a chunk batch by batch, so keep it around. */
  private loaded: { from: Chunk; copy: Chunk } | null = null;
  /**
   * Element and timestamp arrays freed by chunks that were encoded, spilled or truncated, for new chunks: a
   * log that rolls a chunk at every checkpoint and every 4,096 elements would otherwise allocate 64 KiB each time.
   */
  private readonly spareElements: unknown[][] = [];
  private readonly spareTimestamps: Float64Array[] = [];
  /** Encoded bytes per element, measured on a chunk held by reference (footprints only); NaN until measured. */
  private bytesPerElement = Number.NaN;
  private bytesPerElementAt = 0;

  constructor(
    /** Producer task id. */
    readonly taskId: number,
    /** Output channel index within the job. */
    readonly channel: number,
    epoch: number,
    firstSeq: number,
    private readonly budget: InflightBudget,
    private readonly spill: InflightSpillStore | null,
    private readonly retention: ChunkRetention = keepReferences,
  ) {
    this.epoch = epoch;
    this.current = this.newChunk(firstSeq);
  }

  /** Sequence number the next element will get. */
  get nextSeq(): number {
    return this.current.firstSeq + this.current.count;
  }

  /** Sequence number of the oldest element held. */
  get firstSeq(): number {
    return this.chunks.length > 0 ? this.chunks[0]!.firstSeq : this.current.firstSeq;
  }

  /** Elements held (in memory and spilled). */
  get size(): number {
    return this.nextSeq - this.firstSeq;
  }

  /**
   * What the log holds now, in memory and spilled: walks its chunks (about one per 4,096 elements). Chunks
   * held by reference are counted at the encoded size per element of the newest sealed one, measured by
   * encoding it here at most once per {@link ESTIMATE_STALE_MS} (a sampler calls this about once a second;
   * the records themselves take more heap than their encoding).
   */
  footprint(now = Date.now()): InflightFootprint {
    const footprint: InflightFootprint = { memoryRecords: 0, memoryBytes: 0, spilledBytes: 0 };
    let referenced = 0;
    let newestReferenced: Chunk | null = null;
    for (const chunk of this.chunks) {
      if (chunk.spilledAs >= 0) {
        footprint.spilledBytes += chunk.encodedBytes;
        continue;
      }
      footprint.memoryRecords += chunk.count;
      if (chunk.encoded) footprint.memoryBytes += chunk.encodedBytes;
      else {
        referenced += chunk.count;
        if (chunk.sealed) newestReferenced = chunk;
      }
    }
    if (referenced > 0) {
      if (newestReferenced && (Number.isNaN(this.bytesPerElement) || now - this.bytesPerElementAt >= ESTIMATE_STALE_MS)) {
        this.bytesPerElement = encodeChunk(newestReferenced.elements!, newestReferenced.timestamps!, newestReferenced.count).length / newestReferenced.count;
        this.bytesPerElementAt = now;
      }
      if (!Number.isNaN(this.bytesPerElement)) footprint.memoryBytes += Math.round(referenced * this.bytesPerElement);
    }
    return footprint;
  }

  /** Records a batch as sent. Its sequence numbers must follow on from the previous batch. */
  append(batch: Batch): void {
    if (batch.seq !== this.nextSeq) throw new Error(`in-flight log of channel ${this.channel}: batch at seq ${batch.seq}, expected ${this.nextSeq}`);
    let chunk = this.current;
    chunk.ingest.push(batch.seq, batch.ingestTime);
    if (batch.type !== ElementType.Data) {
      if (chunk.count === CHUNK) chunk = this.roll();
      chunk.elements![chunk.count] = new ControlMarker(batch.type, batch.value);
      chunk.timestamps![chunk.count] = NaN;
      chunk.count++;
      this.budget.inMemory++;
      return;
    }
    const records = batch.records;
    const timestamps = batch.timestamps;
    let i = 0;
    const n = batch.count;
    while (i < n) {
      if (chunk.count === CHUNK) {
        chunk = this.roll();
        chunk.ingest.push(batch.seq + i, batch.ingestTime);
      }
      const take = Math.min(n - i, CHUNK - chunk.count);
      const elements = chunk.elements!;
      const base = chunk.count;
      for (let k = 0; k < take; k++) elements[base + k] = records[i + k];
      chunk.timestamps!.set(timestamps.subarray(i, i + take), base);
      chunk.count += take;
      i += take;
    }
    this.budget.inMemory += n;
    if (this.budget.inMemory > this.budget.maxRecords) this.spillOldest();
  }

  /** Starts epoch `epoch` with the next element (call right after appending barrier `epoch`). */
  startEpoch(epoch: number): void {
    this.epoch = epoch;
    if (this.current.count > 0) this.roll();
    else this.current.epoch = epoch;
  }

  /** Drops every element of epochs before `epoch` (checkpoint `epoch` completed, I2). */
  truncateBefore(epoch: number): void {
    let drop = 0;
    while (drop < this.chunks.length && this.chunks[drop]!.epoch < epoch && this.chunks[drop] !== this.current) {
      const chunk = this.chunks[drop]!;
      if (chunk.elements || chunk.encoded) this.budget.inMemory -= chunk.count;
      else if (chunk.spilledAs >= 0) this.spill?.drop(this.taskId, this.channel, chunk.spilledAs);
      if (this.loaded?.from === chunk) this.loaded = null;
      this.release(chunk);
      drop++;
    }
    if (drop > 0) this.chunks.splice(0, drop);
  }

  /** Forgets everything (the task died). */
  discard(): void {
    for (const chunk of this.chunks) {
      if (chunk.elements || chunk.encoded) this.budget.inMemory -= chunk.count;
      else if (chunk.spilledAs >= 0) this.spill?.drop(this.taskId, this.channel, chunk.spilledAs);
    }
    this.chunks.length = 0;
  }

  /**
   * A cursor that replays every element after sequence number `afterSeq`. Throws if the log no longer
   * holds `afterSeq + 1` (it was truncated: the caller asked for an epoch no longer live).
   */
  replayAfter(afterSeq: number): InflightCursor {
    if (afterSeq + 1 < this.firstSeq) {
      throw new Error(`in-flight log of channel ${this.channel} starts at seq ${this.firstSeq}; replay from ${afterSeq + 1} is impossible`);
    }
    return new InflightCursor(this, afterSeq + 1);
  }

  /** @internal Chunk holding `seq`, loading it back if spilled. */
  chunkAt(seq: number): Chunk | undefined {
    const chunks = this.chunks;
    let lo = 0;
    let hi = chunks.length - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      const chunk = chunks[mid]!;
      if (seq < chunk.firstSeq) hi = mid - 1;
      else if (seq >= chunk.firstSeq + chunk.count) lo = mid + 1;
      else return chunk.elements ? chunk : this.load(chunk);
    }
    return undefined;
  }

  private load(chunk: Chunk): Chunk {
    if (this.loaded?.from === chunk) return this.loaded.copy;
    const bytes = chunk.encoded ?? this.spill!.read(this.taskId, this.channel, chunk.spilledAs);
    const { elements, timestamps } = decodeChunk(bytes);
    // A loaded chunk is served from this copy; it is not counted against the budget again.
    const copy = { ...chunk, elements, timestamps };
    this.loaded = { from: chunk, copy };
    return copy;
  }

  private roll(): Chunk {
    const sealed = this.current;
    this.seal(sealed);
    this.current = this.newChunk(sealed.firstSeq + sealed.count);
    return this.current;
  }

  /** Completes a chunk; its retention decides whether it keeps references or bytes (see the module comment). */
  private seal(chunk: Chunk): void {
    chunk.sealed = true;
    if (chunk.elements === null || chunk.count === 0) return;
    const encoded = this.retention.seal(chunk.elements, chunk.timestamps!, chunk.count);
    if (encoded === null) return;
    chunk.encoded = encoded;
    chunk.encodedBytes = encoded.length;
    this.release(chunk);
  }

  /** Drops a chunk's references (the heap must not keep sent records reachable) and keeps its arrays for new chunks. */
  private release(chunk: Chunk): void {
    const elements = chunk.elements;
    if (elements === null) return;
    elements.fill(undefined, 0, chunk.count);
    if (this.spareElements.length < SPARE_ARRAYS) {
      this.spareElements.push(elements);
      this.spareTimestamps.push(chunk.timestamps!);
    }
    chunk.elements = null;
    chunk.timestamps = null;
  }

  private newChunk(firstSeq: number): Chunk {
    const chunk: Chunk = {
      epoch: this.epoch,
      firstSeq,
      count: 0,
      elements: this.spareElements.pop() ?? new Array(CHUNK),
      timestamps: this.spareTimestamps.pop() ?? new Float64Array(CHUNK),
      ingest: [],
      encoded: null,
      sealed: false,
      spilledAs: -1,
      encodedBytes: 0,
    };
    this.chunks.push(chunk);
    return chunk;
  }

  private spillOldest(): void {
    if (!this.spill) return;
    for (const chunk of this.chunks) {
      if (this.budget.inMemory <= this.budget.maxRecords) return;
      if (chunk === this.current || chunk.spilledAs >= 0) continue;
      const bytes = chunk.encoded ?? encodeChunk(chunk.elements!, chunk.timestamps!, chunk.count);
      chunk.spilledAs = this.spillCounter++;
      chunk.encodedBytes = bytes.length;
      this.spill.write(this.taskId, this.channel, chunk.spilledAs, bytes);
      this.budget.inMemory -= chunk.count;
      chunk.encoded = null;
      this.release(chunk);
    }
  }
}

/** Replays elements of an in-flight log into batches, in order, with their original sequence numbers. */
export class InflightCursor {
  constructor(
    private readonly log: InflightLog,
    /** Sequence number of the next element to replay. */
    public nextSeq: number,
  ) {}

  /** Whether every element appended so far has been replayed. */
  get caughtUp(): boolean {
    return this.nextSeq >= this.log.nextSeq;
  }

  /**
   * Fills `batch` with the next elements: records up to the batch's capacity, or one control element.
   * Returns false when caught up (the batch is left empty).
   */
  fill(batch: Batch): boolean {
    if (this.caughtUp) return false;
    const chunk = this.log.chunkAt(this.nextSeq)!;
    let offset = this.nextSeq - chunk.firstSeq;
    const elements = chunk.elements!;
    batch.seq = this.nextSeq;
    batch.ingestTime = ingestTimeOf(chunk, this.nextSeq);
    const first = elements[offset];
    if (first instanceof ControlMarker) {
      batch.type = first.type;
      batch.value = first.value;
      batch.count = 0;
      this.nextSeq++;
      return true;
    }
    batch.type = ElementType.Data;
    let n = 0;
    const capacity = batch.capacity;
    const timestamps = chunk.timestamps!;
    while (n < capacity && offset < chunk.count) {
      const element = elements[offset];
      if (element instanceof ControlMarker) break;
      batch.records[n] = element;
      batch.timestamps[n] = timestamps[offset]!;
      n++;
      offset++;
    }
    batch.count = n;
    this.nextSeq += n;
    return true;
  }
}

function ingestTimeOf(chunk: Chunk, seq: number): number {
  const ingest = chunk.ingest;
  let time = ingest.length > 1 ? ingest[1]! : 0;
  for (let i = 0; i < ingest.length; i += 2) {
    if (ingest[i]! > seq) break;
    time = ingest[i + 1]!;
  }
  return time;
}
