/**
 * The entry point of a worker process (started by `ProcessFleet`, never by hand). It
 *
 * 1. loads the job module and builds the job the same way the coordinator did: the module's export is a
 *    `Job`, a function returning one (or `{ job }`) from the launch arguments, an object with such a
 *    `build`, or the module builds and starts the job at its top level (`job.start()` then hands the job
 *    here instead of running it);
 * 2. starts its data server, connects to the coordinator's control server with the job's secret, and says
 *    hello with the fingerprint of the plan it built (the coordinator refuses another job);
 * 3. serves the coordinator's commands (`WorkerAgent`) until the control connection closes: a worker never
 *    outlives its coordinator.
 */
import { pathToFileURL } from 'node:url';
import { isAbsolute } from 'node:path';
import { isJob, jobNodes, WORKER_JOB_HOOK, type Job } from '../api/job.js';
import { buildPlan } from '../runtime/plan.js';
import { channelOptions } from '../runtime/channel-options.js';
import { connect, RpcPeer } from '../transport/tcp/index.js';
import type { ResolvedJobOptions } from '../config.js';
import { planFingerprint, WORKER_ENV, WORKER_SECRET_ENV, type PeerTable, type WorkerHello, type WorkerLaunch, type WorkerWelcome } from './control-protocol.js';
import { TcpTransport } from './tcp-transport.js';
import { WorkerAgent } from './worker-agent.js';

/** Exit code of a worker that could not join its job. */
const EXIT_START_FAILED = 3;

async function main(): Promise<void> {
  const raw = process.env[WORKER_ENV];
  const secret = process.env[WORKER_SECRET_ENV];
  delete process.env[WORKER_SECRET_ENV];
  if (!raw || !secret) throw new Error(`worker-main is started by the coordinator (${WORKER_ENV} and ${WORKER_SECRET_ENV} are unset)`);
  const launch = JSON.parse(raw) as WorkerLaunch;
  const job = await buildJob(launch);
  const nodes = jobNodes(job);
  const plan = buildPlan(nodes);
  let options: ResolvedJobOptions | null = null;
  const tcp = new TcpTransport({
    self: launch.index,
    secret,
    bindHost: launch.bindHost,
    ...(launch.advertisedHost ? { advertisedHost: launch.advertisedHost } : {}),
    optionsOf: (channel) => channelOptions(nodes, plan, options!, channel),
    // Refused handshakes and corrupt frames are worth a line on stderr (a peer that died is not: the
    // coordinator reports that).
    logger: (event) => {
      if (event.level === 'error' || event.event === 'handshake-refused') process.stderr.write(`causalflow worker-${launch.index}: ${event.event}: ${event.message}\n`);
    },
  });
  const data = await tcp.listen();
  const connection = await connect({
    id: `worker-${launch.index}`,
    secret,
    host: launch.control.host,
    port: launch.control.port,
    expectPeer: 'coordinator',
    heartbeatIntervalMs: launch.heartbeatIntervalMs,
    heartbeatTimeoutMs: launch.heartbeatTimeoutMs,
  });
  const rpc = new RpcPeer(connection, { defaultTimeoutMs: 30_000 });
  // The coordinator is gone (or declared this worker dead): nothing here may outlive it.
  connection.on('close', () => process.exit(0));
  rpc.handle('connectPeers', async (params) => {
    const { peers } = params as { peers: PeerTable };
    await tcp.connectPeers(peers);
    await tcp.connectedTo(peers.map((peer) => peer.worker));
  });
  rpc.handle('exit', () => {
    setImmediate(() => process.exit(0));
  });
  connection.start();
  const hello: WorkerHello = { index: launch.index, generation: launch.generation, fingerprint: planFingerprint(plan), data, pid: process.pid };
  const welcome = await rpc.call<WorkerWelcome>('hello', hello, { timeoutMs: 30_000 });
  // The coordinator's options rule; sinks do not cross, so the dead-letter sink is this process's own.
  options = { ...welcome.options, errors: { policy: welcome.options.errors.policy, deadLetter: job.options.errors.deadLetter } };
  const agent = new WorkerAgent({
    index: launch.index,
    rpc,
    nodes,
    plan,
    options,
    features: welcome.features,
    tcp,
    clockOrigin: welcome.clockOrigin,
    directory: launch.directory,
  });
  process.once('exit', () => agent.dispose());
}

/** Builds the job from the launch's module and export. */
async function buildJob(launch: WorkerLaunch): Promise<Job> {
  // A module that builds and starts its job at the top level hands it here from `job.start()`.
  const started: Job[] = [];
  let notify: (() => void) | null = null;
  (globalThis as Record<symbol, unknown>)[WORKER_JOB_HOOK] = (job: Job) => {
    started.push(job);
    notify?.();
  };
  const url = isAbsolute(launch.module) ? pathToFileURL(launch.module).href : launch.module;
  const imported = import(url) as Promise<Record<string, unknown>>;
  const startedAtTopLevel = new Promise<'started'>((resolve) => {
    notify = () => resolve('started');
  });
  const outcome = await Promise.race([imported, startedAtTopLevel]);
  if (outcome === 'started') return started[0]!;
  const exported = outcome[launch.export];
  const built = await fromExport(exported, launch.args);
  if (built) return built;
  if (started.length > 0) return started[0]!;
  throw new Error(`${launch.module}: export "${launch.export}" is not a Job, a function returning one, or an object with build(); and the module started no job`);
}

async function fromExport(exported: unknown, args: unknown): Promise<Job | null> {
  if (isJob(exported)) return exported;
  let value: unknown = exported;
  if (typeof value === 'function') value = await (value as (args: unknown) => unknown)(args ?? undefined);
  else if (value !== null && typeof value === 'object' && typeof (value as { build?: unknown }).build === 'function') value = await (value as { build: (args: unknown) => unknown }).build(args ?? undefined);
  else return null;
  if (isJob(value)) return value;
  if (value !== null && typeof value === 'object' && isJob((value as { job?: unknown }).job)) return (value as { job: Job }).job;
  return null;
}

main().catch((error: unknown) => {
  process.stderr.write(`causalflow worker: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(EXIT_START_FAILED);
});
