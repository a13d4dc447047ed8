/**
 * A local Kafka broker for tests, benchmarks and users who want one: Apache Kafka 4.4.0 as a single
 * KRaft node (broker and controller in one JVM) on 127.0.0.1, fetched from Maven Central.
 *
 * - `ensureKafkaJars` writes a tiny pom and runs `mvn dependency:copy-dependencies -DincludeScope=runtime`
 *   into a cache directory (`~/.cache/causalflow/kafka-4.4.0`, or `CAUSALFLOW_KAFKA_CACHE`), reused
 *   once complete: about 45 jars, the broker and its runtime dependencies plus `slf4j-simple` for logs.
 * - `startBroker` formats the node's log directory (`kafka.tools.StorageTool format`) the first time,
 *   writes `server.properties` (replication factor 1 for the internal topics, no initial rebalance
 *   delay), starts `kafka.Kafka` detached with a bounded heap, waits until it answers a metadata
 *   request, and writes `broker.json` (pid and ports). Startup takes 3–7 s and about 330 MB.
 * - `stopBroker` sends SIGTERM to the pid in `broker.json` — after checking that the pid is still this
 *   broker's JVM — waits for it to exit, and sends SIGKILL after a timeout.
 *
 * A directory holds one broker: `server.properties`, `data/` (its logs), `broker.log`, `broker.json`.
 * Starting again in the same directory reuses its data and ports, so clients reconnect to the same
 * address (that is how tests restart a broker mid-run).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, readdirSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { homedir } from 'node:os';
import { delimiter, join, resolve } from 'node:path';
import { ConnectorError } from '../../errors.js';
import { logger } from '../../util/logger.js';
import { createKafkaClient } from './client.js';
import { sleep } from './retry.js';

const log = logger('kafka-broker');

/** The Kafka release the project starts. */
export const KAFKA_VERSION = '4.4.0';
/** The Maven artifact bringing the broker. */
export const KAFKA_ARTIFACT = `org.apache.kafka:kafka_2.13:${KAFKA_VERSION}`;
/** slf4j binding for the broker's logs (matching the slf4j-api 1.7 that Kafka resolves to). */
export const SLF4J_SIMPLE = 'org.slf4j:slf4j-simple:1.7.36';

/** Options shared by the lifecycle functions. */
export interface BrokerOptions {
  /** Directory of the broker (default `.causalflow/kafka` under the working directory). */
  dir?: string;
  /** Port of the client listener (default: the one used last time in `dir`, else a free port). */
  port?: number;
  /** Jar cache (default `CAUSALFLOW_KAFKA_CACHE`, else `~/.cache/causalflow/kafka-4.4.0`). */
  cacheDir?: string;
  /** JVM heap options (default `CAUSALFLOW_KAFKA_HEAP_OPTS`, else `-Xmx512m -Xms128m`). */
  heapOptions?: string;
  /** Longest wait for the broker to answer after start, ms (default 90,000). */
  startTimeoutMs?: number;
  /** Receives progress lines (default: the logger at info). */
  onProgress?: (line: string) => void;
}

/** A running (or last run) broker, as recorded in `broker.json`. */
export interface BrokerInfo {
  /** Kafka version. */
  version: string;
  /** JVM process id. */
  pid: number;
  /** Client port on 127.0.0.1. */
  port: number;
  /** Controller port on 127.0.0.1. */
  controllerPort: number;
  /** `127.0.0.1:<port>`, for `brokers` options and `CAUSALFLOW_KAFKA_BROKERS`. */
  brokers: string;
  /** The broker's directory (absolute). */
  dir: string;
  /** Its log file. */
  logFile: string;
  /** When it was started (ISO time). */
  startedAt: string;
}

/** What `brokerStatus` found. */
export interface BrokerStatus {
  /** Whether the recorded process is alive and is this broker's JVM. */
  running: boolean;
  /** Whether it answered a metadata request (checked only when running). */
  answering: boolean;
  /** What `broker.json` says, or null when there is none. */
  info: BrokerInfo | null;
}

/** Where java and mvn are, or why they are missing. */
export interface KafkaTools {
  java: string | null;
  mvn: string | null;
  /** Null when both were found; otherwise what is missing. */
  missing: string | null;
}

/** The broker directory for `options` (absolute). */
export function brokerDirectory(options: Pick<BrokerOptions, 'dir'> = {}): string {
  return resolve(options.dir ?? join('.causalflow', 'kafka'));
}

/** The jar cache directory. */
export function jarCacheDirectory(options: Pick<BrokerOptions, 'cacheDir'> = {}): string {
  return resolve(options.cacheDir ?? process.env.CAUSALFLOW_KAFKA_CACHE ?? join(homedir(), '.cache', 'causalflow', `kafka-${KAFKA_VERSION}`));
}

/** Finds `name` on the PATH (and java under JAVA_HOME first). */
function findExecutable(name: string): string | null {
  const candidates: string[] = [];
  if (name === 'java' && process.env.JAVA_HOME) candidates.push(join(process.env.JAVA_HOME, 'bin', 'java'));
  for (const dir of (process.env.PATH ?? '').split(delimiter)) if (dir) candidates.push(join(dir, name));
  for (const candidate of candidates) {
    try {
      if (statSync(candidate).isFile()) return candidate;
    } catch {
      // not there
    }
  }
  return null;
}

/** Looks for java and mvn. */
export function findKafkaTools(): KafkaTools {
  const java = findExecutable('java');
  const mvn = findExecutable('mvn');
  const missing = [java ? null : 'java', mvn ? null : 'mvn'].filter(Boolean).join(' and ');
  return { java, mvn, missing: missing.length > 0 ? `${missing} not found on PATH` : null };
}

function requireTools(): { java: string; mvn: string } {
  const tools = findKafkaTools();
  if (tools.java === null || tools.mvn === null) {
    throw new ConnectorError('KAFKA_TOOLS_MISSING', `cannot start a local Kafka broker: ${tools.missing} (a JDK 17+ and Maven 3 are needed)`, { context: { java: tools.java, mvn: tools.mvn } });
  }
  return { java: tools.java, mvn: tools.mvn };
}

/** Runs a command; resolves with its exit code and the tail of its output. */
function run(command: string, args: string[], options: { cwd?: string; onLine?: (line: string) => void } = {}): Promise<{ code: number; output: string }> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(command, args, { cwd: options.cwd, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    const collect = (chunk: Buffer): void => {
      const text = chunk.toString();
      output = (output + text).slice(-20_000);
      if (options.onLine) for (const line of text.split('\n')) if (line.trim()) options.onLine(line);
    };
    child.stdout.on('data', collect);
    child.stderr.on('data', collect);
    child.on('error', reject);
    child.on('close', (code) => resolvePromise({ code: code ?? 1, output }));
  });
}

/** The pom whose runtime dependencies are the broker. */
function pom(): string {
  const dependency = (coordinates: string): string => {
    const [groupId, artifactId, version] = coordinates.split(':');
    return `    <dependency><groupId>${groupId}</groupId><artifactId>${artifactId}</artifactId><version>${version}</version></dependency>`;
  };
  return `<?xml version="1.0" encoding="UTF-8"?>
<!-- Generated by causalflow (lib/connectors/kafka/broker.ts): the jars of a local Kafka broker. -->
<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>causalflow.local</groupId>
  <artifactId>kafka-broker-jars</artifactId>
  <version>${KAFKA_VERSION}</version>
  <packaging>pom</packaging>
  <dependencies>
${dependency(KAFKA_ARTIFACT)}
${dependency(SLF4J_SIMPLE)}
  </dependencies>
</project>
`;
}

/** Makes sure the broker's jars are in the cache; returns the directory holding them. */
export async function ensureKafkaJars(options: Pick<BrokerOptions, 'cacheDir' | 'onProgress'> = {}): Promise<string> {
  const cache = jarCacheDirectory(options);
  const libs = join(cache, 'libs');
  const marker = join(cache, 'complete');
  if (existsSync(marker) && existsSync(libs)) return libs;
  const { mvn } = requireTools();
  mkdirSync(cache, { recursive: true });
  writeFileSync(join(cache, 'pom.xml'), pom());
  const staging = join(cache, `libs.partial-${process.pid}`);
  rmSync(staging, { recursive: true, force: true });
  const progress = options.onProgress ?? ((line: string) => log.info(line));
  progress(`fetching ${KAFKA_ARTIFACT} and its runtime dependencies with Maven into ${cache}`);
  const result = await run(mvn, ['-q', '-B', 'dependency:copy-dependencies', '-DincludeScope=runtime', `-DoutputDirectory=${staging}`], { cwd: cache });
  if (result.code !== 0) {
    rmSync(staging, { recursive: true, force: true });
    throw new ConnectorError('KAFKA_FETCH_JARS_FAILED', `mvn dependency:copy-dependencies failed (exit ${result.code}): ${result.output.trim().split('\n').slice(-8).join(' | ')}`, { context: { cache } });
  }
  const jars = readdirSync(staging).filter((f) => f.endsWith('.jar'));
  if (!jars.some((f) => f.startsWith(`kafka_2.13-${KAFKA_VERSION}`))) {
    throw new ConnectorError('KAFKA_FETCH_JARS_FAILED', `Maven copied ${jars.length} jars but not kafka_2.13-${KAFKA_VERSION}.jar`, { context: { cache } });
  }
  // Another process may have finished first: keep whichever complete copy is there.
  if (!existsSync(marker)) {
    rmSync(libs, { recursive: true, force: true });
    renameSync(staging, libs);
    writeFileSync(marker, `${jars.length} jars\n`);
  } else {
    rmSync(staging, { recursive: true, force: true });
  }
  progress(`${jars.length} jars ready`);
  return libs;
}

/** A free TCP port on 127.0.0.1. */
export function freePort(): Promise<number> {
  return new Promise((resolvePromise, reject) => {
    const server = createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      server.close(() => resolvePromise(port));
    });
  });
}

function serverProperties(dir: string, port: number, controllerPort: number): string {
  return [
    '# Generated by causalflow (lib/connectors/kafka/broker.ts): one KRaft node on 127.0.0.1.',
    'process.roles=broker,controller',
    'node.id=1',
    `controller.quorum.voters=1@127.0.0.1:${controllerPort}`,
    `listeners=PLAINTEXT://127.0.0.1:${port},CONTROLLER://127.0.0.1:${controllerPort}`,
    `advertised.listeners=PLAINTEXT://127.0.0.1:${port}`,
    'controller.listener.names=CONTROLLER',
    'inter.broker.listener.name=PLAINTEXT',
    'listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT',
    `log.dirs=${join(dir, 'data')}`,
    'num.partitions=1',
    'auto.create.topics.enable=false',
    // One node: every internal topic has one replica, and few partitions so that it is created fast.
    'offsets.topic.replication.factor=1',
    'offsets.topic.num.partitions=4',
    'transaction.state.log.replication.factor=1',
    'transaction.state.log.min.isr=1',
    'transaction.state.log.num.partitions=4',
    'share.coordinator.state.topic.replication.factor=1',
    'share.coordinator.state.topic.min.isr=1',
    // Groups join at once (the default waits 3 s for more members).
    'group.initial.rebalance.delay.ms=0',
    '',
  ].join('\n');
}

function infoPath(dir: string): string {
  return join(dir, 'broker.json');
}

function readInfo(dir: string): BrokerInfo | null {
  try {
    return JSON.parse(readFileSync(infoPath(dir), 'utf8')) as BrokerInfo;
  } catch {
    return null;
  }
}

/** Whether `pid` is alive and is the broker JVM of `dir` (not a process that reused the pid). */
function isBrokerProcess(pid: number, dir: string): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  try {
    const cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
    return cmdline.includes('kafka.Kafka') && cmdline.includes(join(dir, 'server.properties'));
  } catch {
    // No /proc (not Linux): the pid is alive, and was ours when recorded.
    return true;
  }
}

/** Whether the broker at `brokers` answers a metadata request within a short time. */
async function answers(brokers: string): Promise<boolean> {
  const client = createKafkaClient({ brokers: [brokers], clientId: 'causalflow-broker-check', connectTimeoutMs: 500, requestTimeoutMs: 2000 });
  try {
    await Promise.race([
      client.partitionCount('__causalflow_probe'),
      sleep(3000).then(() => {
        throw new Error('no answer within 3 s');
      }),
    ]);
    return true;
  } catch {
    return false;
  } finally {
    await client.close().catch(() => {});
  }
}

/** What `status` finds in `dir`. */
export async function brokerStatus(options: Pick<BrokerOptions, 'dir'> = {}): Promise<BrokerStatus> {
  const dir = brokerDirectory(options);
  const info = readInfo(dir);
  if (info === null || info.pid <= 0) return { running: false, answering: false, info };
  const running = isBrokerProcess(info.pid, dir);
  return { running, answering: running && (await answers(info.brokers)), info };
}

/**
 * Starts the broker of `dir` (formatting it the first time) and resolves once it answers. If it runs
 * already, resolves with its info.
 */
export async function startBroker(options: BrokerOptions = {}): Promise<BrokerInfo> {
  const dir = brokerDirectory(options);
  const progress = options.onProgress ?? ((line: string) => log.info(line));
  const previous = readInfo(dir);
  if (previous !== null && previous.pid > 0 && isBrokerProcess(previous.pid, dir)) {
    if (await answers(previous.brokers)) return previous;
    throw new ConnectorError('KAFKA_BROKER_STUCK', `a broker process (pid ${previous.pid}) runs in ${dir} but does not answer at ${previous.brokers}; stop it first`, { context: { dir, pid: previous.pid } });
  }
  const { java } = requireTools();
  const libs = await ensureKafkaJars(options);
  mkdirSync(dir, { recursive: true });
  const port = options.port ?? previous?.port ?? (await freePort());
  let controllerPort = previous?.controllerPort ?? (await freePort());
  if (controllerPort === port) controllerPort = await freePort();
  const propertiesPath = join(dir, 'server.properties');
  writeFileSync(propertiesPath, serverProperties(dir, port, controllerPort));
  const classpath = join(libs, '*');
  const jvm = (options.heapOptions ?? process.env.CAUSALFLOW_KAFKA_HEAP_OPTS ?? '-Xmx512m -Xms128m').split(/\s+/).filter(Boolean);
  const common = [...jvm, '-XX:+ExitOnOutOfMemoryError', '-Djava.awt.headless=true', '-Dorg.slf4j.simpleLogger.defaultLogLevel=info', '-cp', classpath];
  if (!existsSync(join(dir, 'data', 'meta.properties'))) {
    progress(`formatting a KRaft node in ${join(dir, 'data')}`);
    const uuid = await run(java, ['-cp', classpath, 'kafka.tools.StorageTool', 'random-uuid']);
    const clusterId = uuid.output.trim().split('\n').pop()?.trim() ?? '';
    if (uuid.code !== 0 || !/^[\w-]{22}$/.test(clusterId)) throw new ConnectorError('KAFKA_FORMAT_FAILED', `StorageTool random-uuid failed: ${uuid.output.slice(-500)}`, { context: { dir } });
    const format = await run(java, [...common, 'kafka.tools.StorageTool', 'format', '-t', clusterId, '-c', propertiesPath]);
    if (format.code !== 0) throw new ConnectorError('KAFKA_FORMAT_FAILED', `StorageTool format failed (exit ${format.code}): ${format.output.trim().split('\n').slice(-5).join(' | ')}`, { context: { dir } });
  }
  const logFile = join(dir, 'broker.log');
  const out = openSync(logFile, 'a');
  let child: ChildProcess;
  try {
    child = spawn(java, [...common, 'kafka.Kafka', propertiesPath], { cwd: dir, detached: true, stdio: ['ignore', out, out] });
  } finally {
    closeSync(out);
  }
  const pid = child.pid ?? -1;
  let exited: number | null = null;
  child.on('exit', (code) => (exited = code ?? 1));
  child.unref();
  const info: BrokerInfo = { version: KAFKA_VERSION, pid, port, controllerPort, brokers: `127.0.0.1:${port}`, dir, logFile, startedAt: new Date().toISOString() };
  writeFileSync(infoPath(dir), `${JSON.stringify(info, null, 2)}\n`);
  progress(`starting Kafka ${KAFKA_VERSION} (pid ${pid}) on 127.0.0.1:${port}`);
  const deadline = Date.now() + (options.startTimeoutMs ?? 90_000);
  while (Date.now() < deadline) {
    if (exited !== null) {
      throw new ConnectorError('KAFKA_BROKER_EXITED', `the broker exited with code ${exited} during startup; last lines of ${logFile}: ${tail(logFile)}`, { context: { dir, logFile } });
    }
    if (await answers(info.brokers)) return info;
    await sleep(250);
  }
  await stopBroker({ dir, timeoutMs: 5000 });
  throw new ConnectorError('KAFKA_BROKER_START_TIMEOUT', `the broker did not answer within ${Math.round((options.startTimeoutMs ?? 90_000) / 1000)} s; last lines of ${logFile}: ${tail(logFile)}`, { context: { dir, logFile } });
}

function tail(file: string): string {
  try {
    return readFileSync(file, 'utf8').trim().split('\n').slice(-5).join(' | ');
  } catch {
    return '(no log)';
  }
}

/** What `stopBroker` did. */
export interface StopResult {
  /** Whether a broker was running. */
  wasRunning: boolean;
  /** Its pid, if one was recorded. */
  pid: number | null;
  /** Whether it had to be killed (it did not exit within the timeout after SIGTERM). */
  killed: boolean;
}

/**
 * Stops the broker of `dir` by its recorded pid: SIGTERM, then SIGKILL after `timeoutMs` (default
 * 20,000). With `signal: 'SIGKILL'` it kills at once (a crash, for tests). Resolves once it exited.
 */
export async function stopBroker(options: Pick<BrokerOptions, 'dir'> & { timeoutMs?: number; signal?: 'SIGTERM' | 'SIGKILL' } = {}): Promise<StopResult> {
  const dir = brokerDirectory(options);
  const info = readInfo(dir);
  if (info === null || info.pid <= 0 || !isBrokerProcess(info.pid, dir)) return { wasRunning: false, pid: info?.pid ?? null, killed: false };
  const pid = info.pid;
  const signal = options.signal ?? 'SIGTERM';
  process.kill(pid, signal);
  let killed = signal === 'SIGKILL';
  const deadline = Date.now() + (options.timeoutMs ?? 20_000);
  while (isAlive(pid)) {
    if (!killed && Date.now() > deadline) {
      log.warn('the broker did not stop in time; killing it', { pid });
      process.kill(pid, 'SIGKILL');
      killed = true;
    }
    await sleep(100);
  }
  writeFileSync(infoPath(dir), `${JSON.stringify({ ...info, pid: -1 }, null, 2)}\n`);
  return { wasRunning: true, pid, killed };
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  // A zombie (exited, not reaped yet by its parent) counts as gone.
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return !/\) Z /.test(stat);
  } catch {
    return true;
  }
}
