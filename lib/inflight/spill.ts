/**
 * Where in-flight logs spill when a task is over its memory budget: one lmdb environment per job,
 * chunks keyed by (task, channel, chunk number). Writes are asynchronous; a chunk read back before its
 * write committed is served from the pending copy.
 */
import { open, type Database, type RootDatabase } from 'lmdb';
import { StateCorruptionError } from '../errors.js';
import { checksum64 } from '../../determinants/checksum.js';
import { readU64, writeU64 } from '../../determinants/bytes.js';

type ChunkKey = [task: number, channel: number, chunk: number];

/** Spilled in-flight chunks of one job. */
export class InflightSpillStore {
  private readonly chunks: Database<Uint8Array, ChunkKey>;
  private readonly pending = new Map<string, Uint8Array>();
  /** Bytes written so far (for metrics). */
  spilledBytes = 0;
  /** Chunks written so far (for metrics). */
  spilledChunks = 0;
  /** Chunks read back so far, by replays (for metrics). */
  chunksReadBack = 0;

  private constructor(private readonly root: RootDatabase) {
    this.chunks = root.openDB<Uint8Array, ChunkKey>({ name: 'inflight', encoding: 'binary' });
    this.chunks.clearSync();
  }

  /** Opens a fresh store (leftovers of an earlier run are cleared: in-flight logs never outlive a run). */
  static open(path: string): InflightSpillStore {
    return new InflightSpillStore(open({ path }));
  }

  /** Stores one chunk's encoded elements, with a checksum. */
  write(task: number, channel: number, chunk: number, payload: Uint8Array): void {
    const framed = new Uint8Array(payload.length + 8);
    framed.set(payload);
    writeU64(framed, payload.length, checksum64(payload));
    const id = `${task}/${channel}/${chunk}`;
    this.pending.set(id, framed);
    this.spilledBytes += framed.length;
    this.spilledChunks++;
    void this.chunks.put([task, channel, chunk], framed).then(() => {
      if (this.pending.get(id) === framed) this.pending.delete(id);
    });
  }

  /** Reads a chunk back, verifying its checksum. */
  read(task: number, channel: number, chunk: number): Uint8Array {
    const framed = this.pending.get(`${task}/${channel}/${chunk}`) ?? this.chunks.get([task, channel, chunk]);
    if (!framed || framed.length < 8) throw new StateCorruptionError(`spilled in-flight chunk ${task}/${channel}/${chunk} is missing`);
    const payload = framed.subarray(0, framed.length - 8);
    if (checksum64(payload) !== readU64(framed, framed.length - 8)) throw new StateCorruptionError(`spilled in-flight chunk ${task}/${channel}/${chunk} fails its checksum`);
    this.chunksReadBack++;
    return payload;
  }

  /** Forgets a chunk. */
  drop(task: number, channel: number, chunk: number): void {
    this.pending.delete(`${task}/${channel}/${chunk}`);
    void this.chunks.remove([task, channel, chunk]);
  }

  /** Closes the environment. */
  async close(): Promise<void> {
    await this.root.flushed;
    await this.root.close();
  }
}
