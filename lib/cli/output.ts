/**
 * Output conventions of every command: human-readable text and progress go to stderr, or to stdout
 * before the result; with `--json` the last line of stdout is one JSON object (see
 * `../shared/contracts.md`).
 */

/** Prints `result` as the final line of stdout. */
export function printJsonResult(result: object): void {
  process.stdout.write(`${JSON.stringify(result)}\n`);
}

/**
 * A one-line progress display on stderr. On a terminal it redraws in place; otherwise it prints a
 * line at most every `intervalMs`, so logs of long runs stay readable.
 */
export class Progress {
  private lastPrint = 0;
  private readonly tty = process.stderr.isTTY === true;
  private dirty = false;

  constructor(private readonly intervalMs = 1000) {}

  /** Shows `line` (rate-limited unless `force`). */
  update(line: string, force = false): void {
    const now = Date.now();
    if (!force && now - this.lastPrint < (this.tty ? 100 : this.intervalMs)) return;
    this.lastPrint = now;
    if (this.tty) {
      process.stderr.write(`\r\x1b[2K${line}`);
      this.dirty = true;
    } else {
      process.stderr.write(`${line}\n`);
    }
  }

  /** Prints a permanent line (ending any in-place line first). */
  log(line: string): void {
    this.done();
    process.stderr.write(`${line}\n`);
  }

  /** Ends the in-place line. */
  done(): void {
    if (this.dirty) process.stderr.write('\n');
    this.dirty = false;
  }
}

/** Formats a number with thousands separators and at most `digits` decimals. */
export function formatNumber(value: number, digits = 0): string {
  return value.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: 0 });
}
