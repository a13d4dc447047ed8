/**
 * The file sink: JSON lines, one file per sink partition (`part-<n>.jsonl` in a directory).
 *
 * The file itself is the record of what is visible: its complete lines are the visible records, so
 * the output index of a recovering writer is the line count, and a torn last line (a crash in the
 * middle of a write) is cut off when the partition opens. Transactions are staged in
 * `part-<n>.txn-<t>.pending` files and appended on commit; `part-<n>.state` records the last committed
 * transaction and the file length after it, written by rename so that it is never torn.
 */
import { closeSync, existsSync, ftruncateSync, mkdirSync, openSync, readFileSync, readdirSync, renameSync, statSync, unlinkSync, writeFileSync, writeSync, appendFileSync } from 'node:fs';
import { join } from 'node:path';
import { ConfigError } from '../errors.js';
import type { Sink, SinkPartition } from './sink.js';

interface FileState {
  committedTxn: number;
  length: number;
}

class FilePartition<T> implements SinkPartition<T> {
  private readonly path: string;
  private readonly statePath: string;
  private readonly determinantsPath: string;
  private fd: number;
  private lines: number;
  private length: number;
  private state: FileState;

  constructor(
    private readonly directory: string,
    private readonly subtask: number,
  ) {
    this.path = join(directory, `part-${subtask}.jsonl`);
    this.statePath = join(directory, `part-${subtask}.state`);
    this.determinantsPath = join(directory, `part-${subtask}.determinants`);
    this.state = existsSync(this.statePath) ? (JSON.parse(readFileSync(this.statePath, 'utf8')) as FileState) : { committedTxn: -1, length: 0 };
    this.fd = openSync(this.path, 'a+');
    let content = readFileSync(this.path);
    const hasPending = this.pendingTxns().some((t) => t === this.state.committedTxn + 1);
    if (hasPending && content.length > this.state.length) {
      // A commit was cut short after appending: undo it; the pending file is still there to redo it.
      ftruncateSync(this.fd, this.state.length);
      content = content.subarray(0, this.state.length);
    }
    const lastNewline = content.lastIndexOf(0x0a);
    if (lastNewline + 1 < content.length) {
      ftruncateSync(this.fd, lastNewline + 1);
      content = content.subarray(0, lastNewline + 1);
    }
    this.length = content.length;
    let lines = 0;
    for (let i = 0; i < content.length; i++) if (content[i] === 0x0a) lines++;
    this.lines = lines;
  }

  write(records: readonly T[], firstIndex: number, determinants?: Uint8Array): void {
    if (firstIndex !== this.lines) throw new Error(`file sink ${this.path}: write at index ${firstIndex}, but ${this.lines} lines are visible`);
    // Determinants first: a crash between the two leaves determinants without their output (harmless,
    // the output is regenerated), never output without its determinants.
    if (determinants !== undefined && determinants.length > 0) appendFileSync(this.determinantsPath, frameEnvelope(determinants));
    this.append(encode(records));
    this.lines += records.length;
  }

  determinants(): Uint8Array[] {
    return existsSync(this.determinantsPath) ? readEnvelopes(readFileSync(this.determinantsPath)) : [];
  }

  pruneDeterminants(keep: (envelope: Uint8Array) => boolean): void {
    const kept = this.determinants().filter(keep);
    const temp = `${this.determinantsPath}.tmp`;
    writeFileSync(temp, Buffer.concat(kept.map(frameEnvelope)));
    renameSync(temp, this.determinantsPath);
  }

  visibleCount(): number {
    return this.lines;
  }

  stage(txn: number, records: readonly T[]): void {
    appendFileSync(this.pendingPath(txn), encode(records));
  }

  commit(txn: number): void {
    for (const t of this.pendingTxns()) {
      if (t > txn) break;
      const pending = this.pendingPath(t);
      if (t > this.state.committedTxn) {
        const text = readFileSync(pending);
        this.append(text);
        for (const byte of text) if (byte === 0x0a) this.lines++;
        this.saveState({ committedTxn: t, length: this.length });
      }
      unlinkSync(pending);
    }
    if (txn > this.state.committedTxn && txn < Number.MAX_SAFE_INTEGER) this.saveState({ committedTxn: txn, length: this.length });
  }

  abortAfter(txn: number): void {
    for (const t of this.pendingTxns()) if (t > txn) unlinkSync(this.pendingPath(t));
  }

  close(): void {
    closeSync(this.fd);
  }

  private append(bytes: Uint8Array | string): void {
    const buffer = typeof bytes === 'string' ? Buffer.from(bytes) : bytes;
    writeSync(this.fd, buffer);
    this.length += buffer.length;
  }

  private saveState(state: FileState): void {
    const temp = `${this.statePath}.tmp`;
    writeFileSync(temp, JSON.stringify(state));
    renameSync(temp, this.statePath);
    this.state = state;
  }

  private pendingPath(txn: number): string {
    return join(this.directory, `part-${this.subtask}.txn-${txn}.pending`);
  }

  private pendingTxns(): number[] {
    const prefix = `part-${this.subtask}.txn-`;
    return readdirSync(this.directory)
      .filter((f) => f.startsWith(prefix) && f.endsWith('.pending'))
      .map((f) => Number(f.slice(prefix.length, -'.pending'.length)))
      .sort((a, b) => a - b);
  }
}

/** An envelope on disk: u32 length, then the envelope (which carries its own checksum). */
function frameEnvelope(envelope: Uint8Array): Buffer {
  const framed = Buffer.alloc(4 + envelope.length);
  framed.writeUInt32LE(envelope.length, 0);
  framed.set(envelope, 4);
  return framed;
}

/** Reads framed envelopes; a torn last frame (a crash mid-append) is ignored, its output was not written. */
function readEnvelopes(bytes: Buffer): Uint8Array[] {
  const out: Uint8Array[] = [];
  let pos = 0;
  while (pos + 4 <= bytes.length) {
    const length = bytes.readUInt32LE(pos);
    if (pos + 4 + length > bytes.length) break;
    out.push(new Uint8Array(bytes.subarray(pos + 4, pos + 4 + length)));
    pos += 4 + length;
  }
  return out;
}

function encode(records: readonly unknown[]): string {
  let text = '';
  for (const r of records) text += `${JSON.stringify(r)}\n`;
  return text;
}

/** A sink writing JSON lines into `directory/part-<n>.jsonl`. */
export function fileSink<T>(directory: string): Sink<T> {
  if (typeof directory !== 'string' || directory.length === 0) throw new ConfigError('fileSink.directory', 'a directory path', directory);
  return {
    name: `file:${directory}`,
    open({ subtask }) {
      mkdirSync(directory, { recursive: true });
      if (existsSync(directory) && !statSync(directory).isDirectory()) throw new ConfigError('fileSink.directory', 'a directory', directory);
      return new FilePartition<T>(directory, subtask);
    },
  };
}
