/**
 * `npm test` runs ava through this script, which first starts the services some tests need and stops
 * them afterwards, whatever happens:
 *
 * - a Kafka broker for `test/kafka/` (one single-node KRaft broker on 127.0.0.1, fetched with Maven;
 *   see `lib/connectors/kafka/broker.ts`), when java and mvn are on the PATH and
 *   `CAUSALFLOW_KAFKA_BROKERS` does not already name one. Its address goes to the tests in
 *   `CAUSALFLOW_KAFKA_BROKERS`; when it cannot be had, the reason goes in `CAUSALFLOW_KAFKA_UNAVAILABLE`
 *   and the Kafka tests skip (or fail, under `CAUSALFLOW_REQUIRE_TOOLS=1`, as in CI).
 *
 * Arguments are passed to ava (`npm test -- test/kafka/sink.test.ts`). Without arguments, the tests run in two
 * passes: every file but those of `test/cluster/`, the `workers.test.ts` files and `bench/peers.test.ts` (ava runs files concurrently),
 * then those one file at a time. Those start worker processes, several per test, and on a 2-core machine they would otherwise slow the
 * pace-sensitive scenarios of the other files (a kill "after 800 records" meant to land between two
 * checkpoints). The exit code is ava's (the first pass that failed).
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { findKafkaTools, startBroker, stopBroker } from '../lib/connectors/kafka/broker.js';

const env: NodeJS.ProcessEnv = { ...process.env };
let brokerDir: string | null = null;

async function startKafka(): Promise<void> {
  if (env.CAUSALFLOW_KAFKA_BROKERS) {
    process.stderr.write(`with-services: Kafka tests use the broker at ${env.CAUSALFLOW_KAFKA_BROKERS} (CAUSALFLOW_KAFKA_BROKERS)\n`);
    return;
  }
  const tools = findKafkaTools();
  if (tools.missing !== null) {
    env.CAUSALFLOW_KAFKA_UNAVAILABLE = `${tools.missing}, so npm test could not start a Kafka broker`;
    process.stderr.write(`with-services: ${env.CAUSALFLOW_KAFKA_UNAVAILABLE}\n`);
    return;
  }
  brokerDir = mkdtempSync(join(tmpdir(), 'causalflow-test-kafka-'));
  const started = Date.now();
  try {
    const info = await startBroker({ dir: brokerDir, onProgress: (line) => process.stderr.write(`with-services: ${line}\n`) });
    env.CAUSALFLOW_KAFKA_BROKERS = info.brokers;
    process.stderr.write(`with-services: Kafka ${info.version} answers at ${info.brokers} after ${((Date.now() - started) / 1000).toFixed(1)} s\n`);
  } catch (error) {
    env.CAUSALFLOW_KAFKA_UNAVAILABLE = `the Kafka broker did not start: ${error instanceof Error ? error.message : String(error)}`;
    process.stderr.write(`with-services: ${env.CAUSALFLOW_KAFKA_UNAVAILABLE}\n`);
  }
}

async function stopKafka(): Promise<void> {
  if (brokerDir === null) return;
  const dir = brokerDir;
  brokerDir = null;
  try {
    await stopBroker({ dir, timeoutMs: 15_000 });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function runAva(args: string[]): Promise<number> {
  return new Promise((resolve) => {
    const ava = spawn(process.execPath, [fileURLToPath(new URL('../node_modules/ava/entrypoints/cli.mjs', import.meta.url)), ...args], { stdio: 'inherit', env });
    const forward = (signal: NodeJS.Signals) => ava.kill(signal);
    process.on('SIGINT', forward);
    process.on('SIGTERM', forward);
    ava.on('exit', (code, signal) => resolve(code ?? (signal ? 1 : 0)));
  });
}

/** Test files under `dir` (relative to the repository root), recursively. */
function testFiles(dir: string): string[] {
  const root = fileURLToPath(new URL('../', import.meta.url));
  return (readdirSync(join(root, dir), { recursive: true }) as string[]).filter((f) => f.endsWith('.test.ts')).map((f) => join(dir, f));
}

let code = 1;
try {
  await startKafka();
  const args = process.argv.slice(2);
  if (args.length > 0) {
    code = await runAva(args);
  } else {
    // Worker processes: `test/cluster/`, and each folder's `workers.test.ts` (verify and bench in workers, the
    // dashboard against a job in workers) and `peers.test.ts` (a Flink JVM beside causalflow in workers).
    const cluster = new Set([...testFiles('test/cluster'), ...testFiles('test').filter((f) => f.endsWith('/workers.test.ts') || f.endsWith('/peers.test.ts'))]);
    const rest = testFiles('test').filter((f) => !cluster.has(f));
    code = await runAva(rest);
    const second = await runAva(['--concurrency', '1', ...cluster]);
    if (code === 0) code = second;
  }
} finally {
  await stopKafka();
}
process.exit(code);
