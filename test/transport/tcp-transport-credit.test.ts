/**
 * The credit window of a channel between two worker processes (`TcpTransport`): the consumer grants the
 * channel's `remoteCapacity`, not the in-process queue's `capacity`, and a producer stops at that many batches in
 * flight. `channelOptions` gives every channel the job's `remoteChannelCapacity`, smaller into an async operator
 * (I24: a barrier must not queue behind a long channel into a task that takes records one promise at a time).
 */
import { randomBytes } from 'node:crypto';
import test from 'ava';
import { TcpTransport } from '../../lib/cluster/tcp-transport.js';
import { channelOptions, ASYNC_INPUT_CAPACITY } from '../../lib/runtime/channel-options.js';
import { resolveJobOptions } from '../../lib/config.js';
import type { LogicalNode, PhysicalPlan } from '../../lib/runtime/plan.js';
import type { RemoteOutputChannel } from '../../lib/transport/tcp/index.js';
import type { ChannelOptions } from '../../lib/transport/transport.js';
import { until } from './helpers.js';

const SECRET = randomBytes(32).toString('hex');
const channel = { index: 0, from: 0, to: 1 };

/** Two transports on loopback, worker 0 and worker 1, connected to each other. */
async function connectedPair(t: { teardown: (fn: () => Promise<void>) => void }, options: ChannelOptions) {
  const transports = [0, 1].map((self) => new TcpTransport({ self, secret: SECRET, optionsOf: () => options }));
  for (const transport of transports) t.teardown(() => transport.close());
  const addresses = await Promise.all(transports.map((transport) => transport.listen()));
  const peers = addresses.map((address, worker) => ({ worker, ...address }));
  await Promise.all(transports.map((transport) => transport.connectPeers(peers)));
  await Promise.all(transports.map((transport) => transport.connectedTo([0, 1])));
  return transports;
}

test('a consumer in another process grants the remote capacity, not the in-process one', async (t) => {
  const [producerSide, consumerSide] = await connectedPair(t, { capacity: 2, remoteCapacity: 5, batchSize: 4 });
  const output = producerSide!.outputEnd(channel, 0, 1) as RemoteOutputChannel;
  consumerSide!.inputEnd(channel, 0, 0);
  await until(() => output.credit > 0, 'the first credit');
  t.is(output.credit, 5, 'the whole remote window, granted when the consumer registers');
});

test('without a remote capacity the in-process capacity is the window', async (t) => {
  const [producerSide, consumerSide] = await connectedPair(t, { capacity: 3, batchSize: 4 });
  const output = producerSide!.outputEnd(channel, 0, 1) as RemoteOutputChannel;
  consumerSide!.inputEnd(channel, 0, 0);
  await until(() => output.credit > 0, 'the first credit');
  t.is(output.credit, 3);
});

test("every channel gets the job's remote capacity, and a channel into an async operator the smaller one (I24)", (t) => {
  const options = resolveJobOptions({ channelCapacity: 8, remoteChannelCapacity: 40 });
  // Task 0 heads a synchronous operator, task 1 an async one.
  const nodes = [{ async: false }, { async: true }] as unknown as LogicalNode[];
  const plan = { tasks: [{ vertex: 0 }, { vertex: 1 }], vertices: [{ nodes: [0] }, { nodes: [1] }] } as unknown as PhysicalPlan;
  t.like(channelOptions(nodes, plan, options, { to: 0 }), { capacity: 8, remoteCapacity: 40 });
  t.like(channelOptions(nodes, plan, options, { to: 1 }), { capacity: ASYNC_INPUT_CAPACITY, remoteCapacity: ASYNC_INPUT_CAPACITY });
  t.is(resolveJobOptions({}).remoteChannelCapacity, 32, 'the default');
});
