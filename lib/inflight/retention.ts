/**
 * How an in-flight log keeps a chunk once it is complete, and the one encoding of chunks that the log,
 * its spill store and its retention policies share.
 *
 * Two policies, chosen per job (`inflightRetention`):
 *
 * - {@link keepReferences} (the default): a sealed chunk keeps its records by reference (they are immutable
 *   once emitted, I11) and is encoded only when it spills to disk. A failure-free run, where every chunk
 *   is truncated at its checkpoint without ever being read again, pays a pointer copy per record. A replay
 *   to a replacement in another process crosses the wire through the channel, which encodes its frames as
 *   for any batch.
 * - {@link keepEncodedBytes}: a sealed chunk is encoded with msgpackr at once and its references dropped, so
 *   the heap holds bytes rather than every record emitted since the last completed checkpoint. For jobs
 *   whose records are large and whose checkpoints are far apart; it costs an encoding per record.
 */
import { Packr } from 'msgpackr';
import { ElementType } from '../transport/batch.js';

const packr = new Packr({ moreTypes: true });

/** A control element kept in the log among records. */
export class ControlMarker {
  constructor(
    readonly type: ElementType,
    readonly value: number,
  ) {}
}

/** Encodes `count` elements (records and {@link ControlMarker}s) and their timestamps as one chunk. */
export function encodeChunk(elements: readonly unknown[], timestamps: Float64Array, count: number): Uint8Array {
  const plain = elements.slice(0, count);
  for (let i = 0; i < plain.length; i++) {
    const e = plain[i];
    if (e instanceof ControlMarker) plain[i] = { __control: e.type, value: e.value };
  }
  return packr.pack([plain, timestamps.subarray(0, count)]);
}

/** Decodes a chunk written by {@link encodeChunk}. */
export function decodeChunk(bytes: Uint8Array): { elements: unknown[]; timestamps: Float64Array } {
  const [elements, timestamps] = packr.unpack(bytes) as [unknown[], number[]];
  for (let i = 0; i < elements.length; i++) {
    const e = elements[i];
    if (e !== null && typeof e === 'object' && (e as { __control?: number }).__control !== undefined) {
      elements[i] = new ControlMarker((e as { __control: ElementType }).__control, (e as { value: number }).value);
    }
  }
  return { elements, timestamps: Float64Array.from(timestamps) };
}

/** Names of the retention policies, as the `inflightRetention` job option spells them. */
export type InflightRetentionName = 'references' | 'encoded';

/** What a log does with a chunk when it is complete. */
export interface ChunkRetention {
  /** The policy's name (`inflightRetention`). */
  readonly name: InflightRetentionName;
  /**
   * The bytes to keep instead of the chunk's elements, or null to keep the elements themselves. The log
   * drops the elements when bytes come back.
   */
  seal(elements: readonly unknown[], timestamps: Float64Array, count: number): Uint8Array | null;
}

/** Keeps sealed chunks by reference; they are encoded only if they spill. */
export const keepReferences: ChunkRetention = {
  name: 'references',
  seal: () => null,
};

/** Encodes sealed chunks at once and drops their references. */
export const keepEncodedBytes: ChunkRetention = {
  name: 'encoded',
  seal: encodeChunk,
};

/** The policy called `name`. */
export function chunkRetention(name: InflightRetentionName): ChunkRetention {
  return name === 'encoded' ? keepEncodedBytes : keepReferences;
}
