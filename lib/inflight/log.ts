/**
 * The in-flight log of one output channel: every element the channel sent, grouped by epoch, kept
 * until the checkpoint closing the epoch completes (I2), so that a replacement consumer can be fed
 * again from any live epoch, skipping what it already has.
 *
 * Elements are appended by reference into a chunk of {@link CHUNK} elements (records are immutable once
 * emitted, I11), so appending costs a pointer copy per record. A chunk that is complete (full, or closed by
 * the start of an epoch) is sealed: encoded with msgpackr, its references dropped. So the log holds bytes,
 * not live objects (what a replay sends may go to another process, and the heap does not keep every
 * emitted record reachable until its checkpoint completes), apart from the one chunk being filled. A
 * replay decodes a chunk when it reaches it. Past the task's memory budget, sealed chunks spill their
 * bytes to lmdb oldest first and the task keeps running.
 */
import { Packr } from 'msgpackr';
import { Batch, ElementType } from '../transport/batch.js';
import type { InflightSpillStore } from './spill.js';

const CHUNK = 4096;
const packr = new Packr({ moreTypes: true });

/** A control element kept in the log among records. */
class ControlMarker {
  constructor(
    readonly type: ElementType,
    readonly value: number,
  ) {}
}

/** A run of consecutive elements. */
interface Chunk {
  /** Epoch the chunk's elements belong to. */
  epoch: number;
  /** Sequence number of the first element. */
  firstSeq: number;
  /** Elements in use. */
  count: number;
  /** Records and control markers while the chunk is filled; null once sealed. */
  elements: unknown[] | null;
  /** Event timestamps while the chunk is filled; null once sealed. */
  timestamps: Float64Array | null;
  /** The sealed chunk's elements and timestamps, encoded; null while filled, and once spilled. */
  encoded: Uint8Array | null;
  /** Per batch sent: [seq of its first element, its ingest time], flattened. */
  ingest: number[];
  /** Index under which the chunk was spilled, or -1. */
  spilledAs: number;
  /** Length of the encoded chunk (0 while it is filled). */
  encodedBytes: number;
}

/** What an in-flight log holds now (metrics). */
export interface InflightFootprint {
  /** Elements held in memory, encoded or being filled. */
  memoryRecords: number;
  /** Encoded bytes of the sealed chunks held in memory. */
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

  constructor(
    /** Producer task id. */
    readonly taskId: number,
    /** Output channel index within the job. */
    readonly channel: number,
    epoch: number,
    firstSeq: number,
    private readonly budget: InflightBudget,
    private readonly spill: InflightSpillStore | null,
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

  /** What the log holds now, in memory and spilled: walks its chunks (about one per 4,096 elements). */
  footprint(): InflightFootprint {
    const footprint: InflightFootprint = { memoryRecords: 0, memoryBytes: 0, spilledBytes: 0 };
    for (const chunk of this.chunks) {
      if (chunk.spilledAs >= 0) {
        footprint.spilledBytes += chunk.encodedBytes;
        continue;
      }
      footprint.memoryRecords += chunk.count;
      if (chunk.encoded) footprint.memoryBytes += chunk.encodedBytes;
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
    const [elements, timestamps] = packr.unpack(bytes) as [unknown[], number[]];
    const revived = elements.map((e) =>
      e !== null && typeof e === 'object' && (e as { __control?: number }).__control !== undefined
        ? new ControlMarker((e as { __control: ElementType }).__control, (e as { value: number }).value)
        : e,
    );
    // A loaded chunk is served from this copy; it is not counted against the budget again.
    const copy = { ...chunk, elements: revived, timestamps: Float64Array.from(timestamps) };
    this.loaded = { from: chunk, copy };
    return copy;
  }

  private roll(): Chunk {
    const sealed = this.current;
    this.current = this.newChunk(sealed.firstSeq + sealed.count);
    this.seal(sealed);
    return this.current;
  }

  /** Encodes a complete chunk and drops its references (the log keeps bytes, see the module comment). */
  private seal(chunk: Chunk): void {
    if (chunk.elements === null || chunk.count === 0) return;
    const elements = chunk.elements.slice(0, chunk.count);
    for (let i = 0; i < elements.length; i++) {
      const e = elements[i];
      if (e instanceof ControlMarker) elements[i] = { __control: e.type, value: e.value };
    }
    chunk.encoded = packr.pack([elements, chunk.timestamps!.subarray(0, chunk.count)]);
    chunk.encodedBytes = chunk.encoded.length;
    chunk.elements = null;
    chunk.timestamps = null;
  }

  private newChunk(firstSeq: number): Chunk {
    const chunk: Chunk = {
      epoch: this.epoch,
      firstSeq,
      count: 0,
      elements: new Array(CHUNK),
      timestamps: new Float64Array(CHUNK),
      ingest: [],
      encoded: null,
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
      if (chunk === this.current || chunk.encoded === null) continue;
      chunk.spilledAs = this.spillCounter++;
      this.spill.write(this.taskId, this.channel, chunk.spilledAs, chunk.encoded);
      this.budget.inMemory -= chunk.count;
      chunk.encoded = null;
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
