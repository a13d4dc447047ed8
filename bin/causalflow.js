#!/usr/bin/env node
// Entry point of the `causalflow` command. In a checkout it runs the TypeScript sources through tsx,
// so the command works right after `npm install`; an installed package runs the compiled dist/.
import { existsSync } from 'node:fs';

const root = new URL('../', import.meta.url);
const source = new URL('lib/cli/main.ts', root);
if (existsSync(source)) {
  const { register } = await import('tsx/esm/api');
  register();
  await import(source.href);
} else {
  await import(new URL('dist/lib/cli/main.js', root).href);
}
