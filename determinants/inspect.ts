/**
 * Readable renderings of persisted logs, for `causalflow log inspect` and for the readable twins of
 * golden fixtures.
 */
import { EntryDecoder, type Determinant } from './codec.js';
import type { KindRegistry } from './kinds.js';
import type { EpochSegment } from './replica.js';

/** One decoded entry with where it sits. */
export interface InspectedEntry {
  /** Task whose log it is. */
  taskId: number;
  /** Its epoch. */
  epoch: number;
  /** Index within the epoch. */
  index: number;
  /** Byte offset within the epoch. */
  offset: number;
  /** The determinant. */
  determinant: Determinant;
}

/** Decodes the epochs of one task's log into entries. Throws `LogCorruptionError` on bad bytes. */
export function inspectLog(taskId: number, epochs: readonly EpochSegment[], registry?: KindRegistry): InspectedEntry[] {
  const decoder = new EntryDecoder();
  const entries: InspectedEntry[] = [];
  for (const { epoch, bytes } of epochs) {
    decoder.reset(bytes);
    while (decoder.next()) {
      entries.push({ taskId, epoch, index: decoder.index, offset: decoder.offset, determinant: decoder.toDeterminant(registry) });
    }
  }
  return entries;
}

/** One line per entry: `task 7 epoch 3 #12 @40 TIMER timerId=1 timestamp=1700000000000 position=512`. */
export function formatEntry(entry: InspectedEntry): string {
  const { kind, ...fields } = entry.determinant;
  const rendered = Object.entries(fields)
    .map(([name, value]) => `${name}=${value instanceof Uint8Array ? hex(value) : JSON.stringify(value)}`)
    .join(' ');
  return `task ${entry.taskId} epoch ${entry.epoch} #${entry.index} @${entry.offset} ${kind}${rendered ? ` ${rendered}` : ''}`;
}

/** JSON-friendly form of an entry (payloads as hex). */
export function entryToJson(entry: InspectedEntry): Record<string, unknown> {
  const fields: Record<string, unknown> = {};
  for (const [name, value] of Object.entries(entry.determinant)) fields[name] = value instanceof Uint8Array ? hex(value) : value;
  return { taskId: entry.taskId, epoch: entry.epoch, index: entry.index, offset: entry.offset, ...fields };
}

function hex(bytes: Uint8Array): string {
  let out = '';
  for (const b of bytes) out += b.toString(16).padStart(2, '0');
  return out;
}
