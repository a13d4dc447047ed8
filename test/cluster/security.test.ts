import test from 'ava';
import { execFileSync } from 'node:child_process';
import { once } from 'node:events';
import { ConfigError, type JobEvent, type JobHandle } from '../../lib/index.js';
import { connect, HandshakeError } from '../../lib/transport/tcp/index.js';
import { buildClusterJob, checkSums, CLUSTER_JOBS, type ClusterJobArgs, type SumRecord } from './jobs.js';
import { jobDirectory } from '../helpers/jobs.js';
import { encode, OTHER_SECRET, SECRET } from '../transport/helpers.js';

// The coordinator's control server and the workers' data servers authenticate every connection with the
// job's secret (HMAC challenge and response); a frame that fails its checksum fails its connection. A
// stranger without the secret, or a corrupt frame, must change nothing about the job's output.

const COUNT = 12_000;

async function startSums(t: import('ava').ExecutionContext): Promise<{ handle: JobHandle; sink: { partitionCount: number; partition(p: number): readonly unknown[] } }> {
  const args: ClusterJobArgs = { job: 'sums', count: COUNT, rate: 8000, options: { parallelism: 2, directory: jobDirectory(t), recovery: { mode: 'exactly-once', checkpointIntervalMs: 50 } } };
  const { job, sink } = buildClusterJob(args);
  const handle = await job.start({ workers: { count: 2, module: CLUSTER_JOBS, export: 'buildClusterJob', args, secret: SECRET } });
  return { handle, sink };
}

function records(sink: { partitionCount: number; partition(p: number): readonly unknown[] }): SumRecord[] {
  const out: SumRecord[] = [];
  for (let p = 0; p < sink.partitionCount; p++) out.push(...(sink.partition(p) as SumRecord[]));
  return out;
}

test.serial('a connection with the wrong secret is refused by the coordinator and by a worker, reported as an event, and the job goes on exactly once', async (t) => {
  const { handle, sink } = await startSums(t);
  const endpoints = handle.executor.fleetEndpoints()!;
  const control = await t.throwsAsync(connect({ id: 'worker-0', secret: OTHER_SECRET, host: endpoints.control!.host, port: endpoints.control!.port }));
  t.true(control instanceof HandshakeError, `the coordinator refused: ${control?.message}`);
  const data = endpoints.data[1]!;
  const peer = await t.throwsAsync(connect({ id: 'worker-0', secret: OTHER_SECRET, host: data.host, port: data.port }));
  t.true(peer instanceof HandshakeError, `worker-1 refused: ${peer?.message}`);
  const result = await handle.done;
  const warnings = result.events.filter((e): e is Extract<JobEvent, { type: 'transport-warning' }> => e.type === 'transport-warning');
  t.true(warnings.some((w) => w.event === 'handshake-refused'), 'the refusal is in the job events');
  t.is(result.events.filter((e) => e.type === 'worker-lost').length, 0, 'no worker was harmed');
  t.deepEqual(checkSums(records(sink), COUNT), []);
});

test.serial('a corrupt frame on an authenticated control connection fails that connection with FRAME_CORRUPT; nothing of it is decoded and the job is unaffected', async (t) => {
  const { handle, sink } = await startSums(t);
  const endpoints = handle.executor.fleetEndpoints()!;
  // An impostor that knows the secret: authenticated, but its frame fails its checksum.
  const impostor = await connect({ id: 'worker-0', secret: SECRET, host: endpoints.control!.host, port: endpoints.control!.port });
  impostor.start();
  const bad = encode((e, o) => e.control(o, new Uint8Array([0x81, 0xa6, 0x6d, 0x65, 0x74, 0x68, 0x6f, 0x64])));
  bad[6]! ^= 0x01;
  const closed = once(impostor, 'close');
  impostor.socket.write(bad);
  await closed;
  const result = await handle.done;
  const warnings = result.events.filter((e): e is Extract<JobEvent, { type: 'transport-warning' }> => e.type === 'transport-warning');
  t.true(warnings.some((w) => w.event === 'connection-failed' && w.code === 'FRAME_CORRUPT'), `reported: ${JSON.stringify(warnings)}`);
  t.is(result.events.filter((e) => e.type === 'worker-lost').length, 0, 'the real workers kept their connections');
  t.deepEqual(checkSums(records(sink), COUNT), []);
});

test.serial('a worker whose module builds another job is refused before it runs anything: the start fails with WORKER_START_FAILED', async (t) => {
  const args: ClusterJobArgs = { job: 'sums', options: { parallelism: 2, directory: jobDirectory(t), recovery: { mode: 'exactly-once' } } };
  const { job } = buildClusterJob(args);
  const error = await t.throwsAsync(job.start({ workers: { count: 2, module: CLUSTER_JOBS, export: 'buildClusterJob', args: { ...args, job: 'clock' } } }));
  t.is((error as { code?: string }).code, 'WORKER_START_FAILED');
  t.regex(error!.message, /built another job/);
});

test.serial('a fault naming no task fails the start with a ConfigError before any worker process is spawned', async (t) => {
  const args: ClusterJobArgs = { job: 'sums', options: { parallelism: 2, directory: jobDirectory(t), recovery: { mode: 'exactly-once' } } };
  const { job } = buildClusterJob(args);
  const children = (): number => Number(execFileSync('sh', ['-c', `ps -o pid= --ppid ${process.pid} | wc -l`]).toString().trim());
  const before = children();
  const error = await t.throwsAsync(job.start({ faults: [{ task: 'nosuch', afterMs: 100 }], workers: { count: 2, module: CLUSTER_JOBS, export: 'buildClusterJob', args } }));
  t.true(error instanceof ConfigError, String(error));
  t.regex(error!.message, /kill.task: expected a task id or name \(numbers\[0\]/);
  const many = await t.throwsAsync(buildClusterJob(args).job.start({ faults: [{ task: ['sum[0]', 'sum[1]'], afterRecords: 10 }], workers: { count: 2, module: CLUSTER_JOBS, export: 'buildClusterJob', args } }));
  t.regex(many!.message, /kill.afterRecords: expected one task/);
  // `ps` itself is a child while it counts: the same figure before and after means no worker is left.
  t.is(children(), before, 'no worker process left behind');
});

test('bad worker options are ConfigErrors naming the field', (t) => {
  const build = (workers: unknown) => () => buildClusterJob({ job: 'sums', options: { workers: workers as never } });
  t.throws(build({ count: 2, secret: 'short' }), { instanceOf: ConfigError, message: /workers.secret: expected 32 bytes/ });
  t.throws(build({ count: -1 }), { instanceOf: ConfigError, message: /workers.count/ });
  t.throws(build({ count: 2, heartbeatTimeoutMs: 1 }), { instanceOf: ConfigError, message: /workers.heartbeatTimeoutMs/ });
  t.throws(build({ count: 2, colour: 'red' }), { instanceOf: ConfigError, message: /workers.colour/ });
  t.throws(build({ count: 2, rebalance: 'yes' }), { instanceOf: ConfigError, message: /workers.rebalance/ });
  t.notRegex(String((() => { try { build({ count: 2, secret: 'x'.repeat(20) })(); } catch (e) { return (e as Error).message; } return ''; })()), /xxxx/, 'the secret is never echoed');
});
