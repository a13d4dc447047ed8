/**
 * A results directory of the report (`bench/results/<date>-<kind>/`): one JSON file per invocation (the
 * last stdout line of its command), `commands.json` naming each file's command, and optionally
 * `notes.md` (when, under what load, what the figures do not show). The report sections read it here.
 */
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';

/** A target of a report section and whether the results meet it (missed also when the figure could not be measured). */
export interface TargetCheck {
  figure: string;
  target: string;
  measured: string;
  met: boolean;
}

/** A figure with at most `digits` decimals, `n/a` when it could not be measured. */
export const formatFigure = (v: number | null | undefined, digits = 0): string =>
  v === null || v === undefined || Number.isNaN(v) ? 'n/a' : v.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: 0 });

/** The table of target checks (markdown lines): figure, target, measured, met or **missed**. */
export function targetTable(checks: readonly TargetCheck[]): string[] {
  return ['| Figure | Target | Measured | |', '| --- | --- | --- | --- |', ...checks.map((c) => `| ${c.figure} | ${c.target} | ${c.measured} | ${c.met ? 'met' : '**missed**'} |`)];
}

/** What a results directory holds. */
export interface ResultsDir {
  /** Each result file, in natural order, with the command that made it ('n/a' when `commands.json` does not say). */
  files: { file: string; command: string; result: { bench?: string } }[];
  /** `notes.md`, trimmed, or null. */
  notes: string | null;
}

/** The newest `bench/results/*-<suffix>/` directory under `root` (relative to it), or null. */
export function newestResultsDir(root: string, suffix: string): string | null {
  const results = join(root, 'bench', 'results');
  if (!existsSync(results)) return null;
  const dirs = readdirSync(results).filter((d) => d.endsWith(`-${suffix}`)).sort();
  return dirs.length > 0 ? join('bench', 'results', dirs[dirs.length - 1]!) : null;
}

/** Reads the results directory `dir` (relative to `root`). */
export function readResultsDir(root: string, dir: string): ResultsDir {
  const full = join(root, dir);
  const commandsPath = join(full, 'commands.json');
  const commands = existsSync(commandsPath) ? (JSON.parse(readFileSync(commandsPath, 'utf8')) as Record<string, string>) : {};
  const notesPath = join(full, 'notes.md');
  const files = readdirSync(full)
    .filter((f) => f.endsWith('.json') && f !== 'commands.json')
    .sort((a, b) => a.localeCompare(b, 'en', { numeric: true }))
    .map((file) => ({ file, command: commands[file] ?? 'n/a', result: JSON.parse(readFileSync(join(full, file), 'utf8')) as { bench?: string } }));
  return { files, notes: existsSync(notesPath) ? readFileSync(notesPath, 'utf8').trim() : null };
}
