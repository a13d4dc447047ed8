import test from 'ava';
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { builtinModules } from 'node:module';
import { ROOT } from '../helpers/cli.js';

// The witness must share no code with what it checks: every file of lib/verify/witness/ may import
// only Node built-ins and the other files of that folder. A bug shared by the runtime and its checker
// could not show otherwise.

const FOLDER = join(ROOT, 'lib/verify/witness');

/** Every module specifier in `source`: static imports and re-exports, side-effect imports, import(), require(). */
function specifiers(source: string): string[] {
  const found: string[] = [];
  const patterns = [/\b(?:import|export)\s[^'"`;]*?\bfrom\s*['"]([^'"]+)['"]/g, /\bimport\s*['"]([^'"]+)['"]/g, /\bimport\s*\(\s*['"`]([^'"`]+)['"`]\s*\)/g, /\brequire\s*\(\s*['"`]([^'"`]+)['"`]\s*\)/g];
  for (const pattern of patterns) for (const match of source.matchAll(pattern)) found.push(match[1]!);
  // A dynamic import or require of anything but a string literal cannot be checked: refuse it.
  if (/\bimport\s*\(\s*[^'"`\s]/.test(source) || /\brequire\s*\(\s*[^'"`\s]/.test(source)) found.push('<computed>');
  return found;
}

/** Why `specifier`, imported by `file`, breaks the rule, or null. */
function forbidden(file: string, specifier: string): string | null {
  if (specifier.startsWith('node:')) return builtinModules.includes(specifier.slice(5)) ? null : `${specifier} is no Node built-in`;
  if (specifier.startsWith('.')) {
    const target = resolve(dirname(file), specifier);
    return relative(FOLDER, target).startsWith('..') ? `${specifier} leaves lib/verify/witness/` : null;
  }
  return `${specifier} is a package (or a bare built-in: write node:${specifier})`;
}

test('the witness imports only Node built-ins and its own files: nothing of lib/runtime, lib/causal, lib/recovery or any package', (t) => {
  const files = readdirSync(FOLDER).filter((f) => /\.[cm]?[jt]s$/.test(f));
  t.true(files.length >= 4, `witness files: ${files.join(', ')}`);
  let imports = 0;
  for (const name of files) {
    const file = join(FOLDER, name);
    for (const specifier of specifiers(readFileSync(file, 'utf8'))) {
      imports++;
      t.is(forbidden(file, specifier), null, `${name} imports ${specifier}`);
    }
  }
  t.true(imports >= 5, `imports found: ${imports} (the scan must see them)`);
});

test('the import scan catches what the rule forbids, in every form', (t) => {
  const file = join(FOLDER, 'x.ts');
  const offences = [
    `import { Executor } from '../../runtime/executor.js';`,
    `import type { Job } from '../../api/job.js';`,
    `export { causal } from '../../causal/capture.js';`,
    `import '../chaos.js';`,
    `const m = await import('../../recovery/oracle.js');`,
    `const m = require('msgpackr');`,
    `import { readFileSync } from 'fs';`,
    `const m = await import(name);`,
  ];
  for (const source of offences) {
    const found = specifiers(source);
    t.true(found.length > 0 && found.some((s) => s === '<computed>' || forbidden(file, s) !== null), source);
  }
  t.deepEqual(specifiers(`import { createServer } from 'node:http';\nimport type { Rec } from './check.js';`).map((s) => forbidden(file, s)), [null, null]);
});
