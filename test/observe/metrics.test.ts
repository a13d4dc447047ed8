/**
 * The metrics endpoint of a running job (embedded runtime): scraped over HTTP with its token, parsed by a
 * parser of the exposition format that shares no code with prom-client, and its counts checked against
 * the job's own result. Every metric family scraped is documented in docs/metrics.md, and every one
 * documented is scraped.
 */
import test from 'ava';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildDemoJob } from '../../lib/cli/demo-job.js';
import { ConfigError } from '../../lib/errors.js';
import { parseExposition, samplesOf, scrape, sumOf } from './exposition.js';

const root = new URL('../../', import.meta.url);

test('a job started with metrics serves /metrics on 127.0.0.1, only with its token, and its counts match the job result (kill of q3-join[0] recovered locally)', async (t) => {
  const directory = mkdtempSync(join(tmpdir(), 'causalflow-metrics-'));
  t.teardown(() => rmSync(directory, { recursive: true, force: true }));
  const { job } = buildDemoJob({ parallelism: 2, rate: 20_000, maxEvents: 80_000, directory });
  const handle = await job.start({ faults: [{ task: 'q3-join[0]', afterMs: 2000 }], endpoints: { metrics: 0, endpointsAfterEnd: 'keep' } });
  t.teardown(() => handle.closeEndpoints());
  const { metrics, token } = handle.endpoints;
  t.truthy(metrics);
  t.regex(metrics!, /^http:\/\/127\.0\.0\.1:\d+\/metrics$/, 'bound to loopback by default');
  t.is((await fetch(metrics!)).status, 401, 'no token: refused');
  t.is((await fetch(metrics!, { headers: { authorization: 'Bearer 0123456789abcdef0123456789abcdef' } })).status, 401, 'a wrong token: refused');
  t.is((await fetch(`${metrics}?token=${token}`)).status, 200, 'the token as a query parameter is accepted too');

  await new Promise((resolve) => setTimeout(resolve, 1500));
  const during = await scrape(metrics!, token!);
  t.true(sumOf(during, 'causalflow_job_records_total', { direction: 'in' }) > 0, 'records are counted while the job runs');
  t.is(new Set(samplesOf(during, 'causalflow_task_records_in_total').map((s) => `${s.labels.operator}[${s.labels.subtask}]`)).size, 4, 'every task reports its input');

  const result = await handle.done;
  const after = await scrape(metrics!, token!);
  for (const sample of after.samples) t.is(sample.labels.job, 'demo-q3', `${sample.name} carries the job label`);
  t.is(sumOf(after, 'causalflow_job_records_total', { direction: 'out' }), result.recordsOut, 'records out = the result');
  t.is(sumOf(after, 'causalflow_job_records_total', { direction: 'in' }), result.recordsIn, 'records in = the result');
  t.is(sumOf(after, 'causalflow_sink_records_total'), result.recordsOut, 'per-sink records add up to the job output');
  t.is(sumOf(after, 'causalflow_sink_latency_seconds_count'), result.recordsOut, 'one latency per record made visible');
  const inf = samplesOf(after, 'causalflow_sink_latency_seconds_bucket', { le: '+Inf' });
  t.is(inf.reduce((s, x) => s + x.value, 0), result.recordsOut, 'the +Inf bucket holds every record');
  t.is(sumOf(after, 'causalflow_checkpoints_total', { outcome: 'completed' }), result.checkpoints, 'completed checkpoints = the result');
  t.is(sumOf(after, 'causalflow_checkpoint_duration_seconds_count'), result.checkpoints, 'one duration per completed checkpoint');
  t.is(result.recoveries, 1);
  t.is(sumOf(after, 'causalflow_recoveries_total', { mode: 'exactly-once', outcome: 'local' }), 1, 'the kill recovered locally');
  t.is(sumOf(after, 'causalflow_recovery_replay_seconds_count', { operator: 'q3-join', subtask: '0' }), 1, 'the replacement replayed once');
  t.is(sumOf(after, 'causalflow_recovery_takeover_seconds_count'), 1);
  t.is(sumOf(after, 'causalflow_escalations_total'), 0);
  t.true(sumOf(after, 'causalflow_determinant_replica_bytes') > 0, 'the join holds replicas of its sources\' determinants');

  // Names follow Prometheus conventions, and docs/metrics.md documents exactly what is exported.
  const families = [...after.type.keys()].filter((name) => name.startsWith('causalflow_') && !name.startsWith('causalflow_coordinator_'));
  for (const name of families) {
    const type = after.type.get(name);
    if (type === 'counter') t.regex(name, /_total$/, `counter ${name} ends in _total`);
    if (type === 'histogram') t.regex(name, /_(seconds|bytes)$/, `histogram ${name} has a unit`);
    t.truthy(after.help.get(name), `${name} has a HELP line`);
  }
  const documented = [...readFileSync(new URL('docs/metrics.md', root), 'utf8').matchAll(/^\| `(causalflow_[a-z_]+)`/gm)].map((m) => m[1]!);
  t.deepEqual([...families].sort(), [...new Set(documented)].sort(), 'docs/metrics.md lists every metric family scraped, and no other');
});

test('metrics options are validated: a short token, a bad port and an unknown endpoint key are ConfigErrors', async (t) => {
  const directory = mkdtempSync(join(tmpdir(), 'causalflow-metrics-'));
  t.teardown(() => rmSync(directory, { recursive: true, force: true }));
  await t.throwsAsync(buildDemoJob({ parallelism: 1, rate: 1000, maxEvents: 10, directory }).job.start({ endpoints: { metrics: 0, endpointToken: 'short' } }), { instanceOf: ConfigError, message: /endpointToken/ });
  await t.throwsAsync(buildDemoJob({ parallelism: 1, rate: 1000, maxEvents: 10, directory }).job.start({ endpoints: { metrics: 70_000 } }), { instanceOf: ConfigError, message: /metrics\.port/ });
  await t.throwsAsync(buildDemoJob({ parallelism: 1, rate: 1000, maxEvents: 10, directory }).job.start({ endpoints: { dashboard: { port: 0, hots: 'x' } as never } }), { instanceOf: ConfigError, message: /dashboard\.hots/ });
});

test('the exposition parser of these tests rejects a malformed line (it checks, it does not just split)', (t) => {
  t.throws(() => parseExposition('causalflow_x{job="a" 1\n'), { message: /not a sample|malformed/ });
  t.deepEqual(parseExposition('# TYPE a counter\na_total{x="1",y="q\\"z"} 3\n').samples, [{ name: 'a_total', labels: { x: '1', y: 'q"z' }, value: 3 }]);
});
