import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, normalize, relative } from 'node:path';
import test from 'ava';

// The layer table of docs/architecture.md is the rule: every import of determinants/, lib/ and bench/ goes
// to its own layer or a lower one, type-only imports included. determinants/ imports nothing of lib/.

const root = new URL('../', import.meta.url).pathname;

/** Path prefix → layer, read from the table in docs/architecture.md. */
function layerTable(): { prefix: string; layer: number }[] {
  const doc = readFileSync(join(root, 'docs/architecture.md'), 'utf8');
  const section = doc.slice(doc.indexOf('## Layers'), doc.indexOf('## From a job to tasks'));
  const rows: { prefix: string; layer: number }[] = [];
  for (const line of section.split('\n')) {
    const match = /^\| (\d+) \| (.+?) \|/.exec(line);
    if (!match) continue;
    for (const path of match[2]!.matchAll(/`([^`]+)`/g)) rows.push({ prefix: path[1]!, layer: Number(match[1]) });
  }
  // Longest prefix first: `lib/config.ts` before `lib/`.
  return rows.sort((a, b) => b.prefix.length - a.prefix.length);
}

function layerOf(table: readonly { prefix: string; layer: number }[], file: string): number | null {
  for (const row of table) {
    if (row.prefix.endsWith('/') ? file.startsWith(row.prefix) : file === row.prefix) return row.layer;
  }
  return null;
}

function sources(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(join(root, dir))) {
    const path = join(dir, name);
    if (statSync(join(root, path)).isDirectory()) out.push(...sources(path));
    else if (name.endsWith('.ts')) out.push(path);
  }
  return out;
}

const IMPORT = /(?:^|\n)\s*(?:import|export)\s[^;]*?from\s+'(\.[^']+)'|import\('(\.[^']+)'\)/g;

test('every import of determinants/, lib/ and bench/ respects the layer table of docs/architecture.md', (t) => {
  const table = layerTable();
  t.true(table.length >= 10, `the table has ${table.length} rows`);
  const violations: string[] = [];
  const unknown: string[] = [];
  let checked = 0;
  for (const file of [...sources('determinants'), ...sources('lib'), ...sources('bench')]) {
    const from = layerOf(table, file);
    if (from === null) {
      unknown.push(file);
      continue;
    }
    for (const match of readFileSync(join(root, file), 'utf8').matchAll(IMPORT)) {
      const target = relative(root, normalize(join(root, dirname(file), match[1] ?? match[2]!))).replace(/\.js$/, '.ts');
      const to = layerOf(table, target);
      checked++;
      if (to === null) unknown.push(`${file} imports ${target}`);
      else if (to > from) violations.push(`${file} (layer ${from}) imports ${target} (layer ${to})`);
    }
  }
  t.log(`${checked} imports checked against ${table.length} table rows`);
  t.deepEqual(unknown, [], 'every file is in the table');
  t.deepEqual(violations, []);
});

test('determinants/ imports nothing from lib/, bench/ or test/: it is published on its own', (t) => {
  const offenders = sources('determinants').filter((file) => /from '\.\.\/(lib|bench|test)\//.test(readFileSync(join(root, file), 'utf8')));
  t.deepEqual(offenders, []);
});
