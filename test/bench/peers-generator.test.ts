import test from 'ava';
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { buildFlinkPeer, flinkUnavailable } from '../../bench/peers/flink-driver.js';
import { NexmarkGenerator } from '../../bench/nexmark/generator.js';
import { BENCH_EVENT_RATE } from '../../bench/worker-job.js';

// The Flink peer runs on events of a Java port of the Nexmark generator (bench/peers/flink/); the comparison
// is only fair if they are our events. Both print one JSON line per event; the bytes must be the same.

/** CI sets it: a missing java or mvn fails the test instead of skipping it. */
const REQUIRE_TOOLS = process.env.CAUSALFLOW_REQUIRE_TOOLS === '1';
/** Enough events to draw most of the 10,000 cold channels, every pool string and prices across their range. */
const EVENTS = 250_000;

/** The TypeScript generator's events as lines, as the Java `GeneratorDump` prints them. */
function typescriptLines(seed: number, count: number, eventRate: number): string[] {
  const generator = new NexmarkGenerator({ seed, eventRate });
  const lines: string[] = new Array<string>(count);
  for (let n = 0; n < count; n++) lines[n] = JSON.stringify(generator.event(n));
  return lines;
}

function javaLines(classpath: string, seed: number, count: number, eventRate: number): Promise<string[]> {
  return new Promise((resolve, reject) => {
    const child = spawn('java', ['-cp', classpath, 'causalflow.peers.GeneratorDump', String(seed), String(count), String(eventRate)], { stdio: ['ignore', 'pipe', 'pipe'] });
    const chunks: Buffer[] = [];
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => chunks.push(chunk));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('error', reject);
    child.on('close', (code) => (code === 0 ? resolve(Buffer.concat(chunks).toString('utf8').replace(/\n$/, '').split('\n')) : reject(new Error(`GeneratorDump exited ${code}: ${stderr}`))));
  });
}

const sha256 = (lines: readonly string[]): string => createHash('sha256').update(`${lines.join('\n')}\n`).digest('hex');

const CASES = [
  { seed: 0, eventRate: BENCH_EVENT_RATE, why: 'the benchmarks’ seed and event rate' },
  { seed: 987_654_321, eventRate: 10_000, why: 'another seed, and the generator’s default event rate (longer auctions)' },
];

const unavailable = flinkUnavailable();
for (const c of CASES) {
  const title = `the Java generator of the Flink peer makes the TypeScript generator's ${EVENTS} events byte for byte: seed ${c.seed}, ${c.eventRate} events/s (${c.why})`;
  if (unavailable !== null && !REQUIRE_TOOLS) {
    test.skip(`${title} [skipped: ${unavailable}; set CAUSALFLOW_REQUIRE_TOOLS=1 to fail instead]`, () => {});
    continue;
  }
  test.serial(title, async (t) => {
    if (unavailable !== null) {
      t.fail(`CAUSALFLOW_REQUIRE_TOOLS=1 requires java and mvn, but ${unavailable}`);
      return;
    }
    t.timeout(300_000, 'a cold Maven build downloads Flink');
    const { classpath } = buildFlinkPeer();
    const expected = typescriptLines(c.seed, EVENTS, c.eventRate);
    const actual = await javaLines(classpath, c.seed, EVENTS, c.eventRate);
    if (sha256(actual) !== sha256(expected)) {
      const first = expected.findIndex((line, n) => actual[n] !== line);
      t.fail(`event ${first} differs (of ${expected.length}; Java printed ${actual.length}):\n  ts:   ${expected[first]}\n  java: ${actual[first]}`);
      return;
    }
    t.is(actual.length, EVENTS);
  });
}
