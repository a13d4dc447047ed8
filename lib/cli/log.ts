/**
 * `causalflow log inspect <file>`: prints a persisted determinant log, from a log file (`.cflog`)
 * or from an lmdb determinant store directory.
 */
import { readFileSync, statSync } from 'node:fs';
import type { Command } from 'commander';
import { DeterminantStore, decodeLogFile, entryToJson, formatEntry, inspectLog, isLogFile, joinSegments, type InspectedEntry } from '../../determinants/index.js';
import { InvalidArgumentError } from '../../determinants/errors.js';
import { nonNegativeInteger } from './args.js';
import { printJsonResult } from './output.js';

/** Adds the `log` command group to `program`. */
export function registerLogCommands(program: Command): void {
  const log = program.command('log').description('work with persisted determinant logs');

  log
    .command('inspect')
    .description('print a persisted determinant log (a .cflog file or an lmdb store directory) as readable lines')
    .argument('<file>', 'log file or lmdb determinant store directory')
    .option('--task <id>', 'only this task', nonNegativeInteger)
    .option('--json', 'print one JSON object with every entry on the last line of stdout')
    .action(async (file: string, options: { task?: number; json?: boolean }) => {
      const entries = await readEntries(file, options.task);
      if (options.json) {
        printJsonResult({ file, entries: entries.map(entryToJson) });
      } else {
        for (const entry of entries) process.stdout.write(`${formatEntry(entry)}\n`);
      }
    });
}

async function readEntries(path: string, onlyTask: number | undefined): Promise<InspectedEntry[]> {
  let isDirectory: boolean;
  try {
    isDirectory = statSync(path).isDirectory();
  } catch {
    throw new InvalidArgumentError('file', 'an existing log file or store directory', path);
  }
  const byTask = new Map<number, { epoch: number; bytes: Uint8Array }[]>();
  if (isDirectory) {
    const store = DeterminantStore.open({ path });
    try {
      for (const taskId of store.taskIds()) byTask.set(taskId, store.load(taskId));
    } finally {
      await store.close();
    }
  } else {
    const bytes = readFileSync(path);
    if (!isLogFile(bytes)) throw new InvalidArgumentError('file', 'a causalflow log file (magic CFDL)', path);
    const segments = decodeLogFile(bytes);
    const tasks = new Set(segments.map((s) => s.taskId));
    for (const taskId of tasks) byTask.set(taskId, joinSegments(segments.filter((s) => s.taskId === taskId)));
  }
  const entries: InspectedEntry[] = [];
  for (const [taskId, epochs] of [...byTask.entries()].sort((a, b) => a[0] - b[0])) {
    if (onlyTask !== undefined && taskId !== onlyTask) continue;
    entries.push(...inspectLog(taskId, epochs));
  }
  return entries;
}
