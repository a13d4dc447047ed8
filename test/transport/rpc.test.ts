import test from 'ava';
import { fork } from 'node:child_process';
import { once } from 'node:events';
import { CausalflowError } from '../../determinants/errors.js';
import {
  ChannelMux,
  ConnectionClosedError,
  RemoteError,
  RpcPeer,
  RpcTimeoutError,
  TransportProtocolError,
  listen,
  type FramedConnection,
} from '../../lib/transport/tcp/index.js';
import { SECRET, closed, pair, sleep, until } from './helpers.js';

/** Two RPC peers on one connection: `a` on the client side, `b` on the server side. */
async function rpcPair(t: { teardown: (fn: () => Promise<void>) => void }) {
  const p = await pair({ start: false });
  t.teardown(p.close);
  const a = new RpcPeer(p.client, { logger: (e) => p.logs.push(e) });
  const b = new RpcPeer(p.accepted, { logger: (e) => p.logs.push(e) });
  p.client.start();
  p.accepted.start();
  return { p, a, b };
}

class NoSuchTaskError extends CausalflowError {
  constructor(task: string) {
    super('NO_SUCH_TASK', `expected a task named ${task}, found none`, { retriable: true, context: { task } });
  }
}

test('a call returns what the handler returned, sync or async, with params of many types', async (t) => {
  const { a, b } = await rpcPair(t);
  b.handle('echo', (params) => params);
  b.handle('sum', async (params) => {
    await sleep(5);
    return (params as number[]).reduce((x, y) => x + y, 0);
  });
  b.handle('who', (_params, context) => context);
  const params = { n: 1, s: 'ü', list: [1, 'two', null], bytes: new Uint8Array([1, 2]), big: 2n ** 60n, nested: { ok: true }, map: new Map([[1, 'a']]) };
  t.deepEqual(await a.call('echo', params), params);
  t.is(await a.call<number>('sum', [1, 2, 3]), 6);
  t.deepEqual(await a.call('who'), { peer: 'worker-client', method: 'who', notification: false });
  t.is(b.stats.served, 3);
});

test('a remote CausalflowError comes back as RemoteError with its code, message and retriable flag', async (t) => {
  const { a, b } = await rpcPair(t);
  b.handle('find', (params) => {
    throw new NoSuchTaskError(String(params));
  });
  const error = await t.throwsAsync(a.call('find', 'q3-join[0]'), { instanceOf: RemoteError });
  t.is(error?.code, 'RPC_REMOTE_ERROR');
  t.is(error?.remoteCode, 'NO_SUCH_TASK');
  t.is(error?.remoteMessage, 'expected a task named q3-join[0], found none');
  t.true(error?.retriable);
  t.regex(error!.message, /find failed on the peer: NO_SUCH_TASK: expected a task named q3-join\[0\], found none/);
});

test('a plain Error or a rejected promise in a handler is HANDLER_FAILED, not retriable', async (t) => {
  const { a, b } = await rpcPair(t);
  b.handle('boom', () => {
    throw new TypeError('x is not a function');
  });
  b.handle('reject', () => Promise.reject(new Error('later')));
  t.like(await t.throwsAsync(a.call('boom'), { instanceOf: RemoteError }), { remoteCode: 'HANDLER_FAILED', remoteMessage: 'TypeError: x is not a function', retriable: false });
  t.like(await t.throwsAsync(a.call('reject'), { instanceOf: RemoteError }), { remoteCode: 'HANDLER_FAILED', remoteMessage: 'Error: later' });
});

test('calling a method the peer does not serve is RPC_UNKNOWN_METHOD, naming what it does serve', async (t) => {
  const { a, b } = await rpcPair(t);
  b.handle('pause', () => true);
  const error = await t.throwsAsync(a.call('resume'), { instanceOf: RemoteError });
  t.is(error?.remoteCode, 'RPC_UNKNOWN_METHOD');
  t.is(error?.remoteMessage, 'expected one of [pause], found resume');
  t.throws(() => b.handle('pause', () => false), { message: /expected a method without a handler/ });
  b.unhandle('pause');
  t.like(await t.throwsAsync(a.call('pause'), { instanceOf: RemoteError }), { remoteCode: 'RPC_UNKNOWN_METHOD' });
});

test('a call with no answer in time fails with RPC_TIMEOUT, and the late answer is ignored', async (t) => {
  const { a, b } = await rpcPair(t);
  b.handle('slow', () => sleep(150).then(() => 'late'));
  const error = await t.throwsAsync(a.call('slow', null, { timeoutMs: 30 }), { instanceOf: RpcTimeoutError });
  t.like(error, { code: 'RPC_TIMEOUT', retriable: true });
  t.regex(error!.message, /slow: expected an answer within 30 ms, found none/);
  await until(() => a.stats.lateAnswers === 1, 'the late answer');
  t.is(a.waiting, 0);
});

test('notifications run the handler and get no answer; a failing one is only logged', async (t) => {
  const { a, b, p } = await rpcPair(t);
  const seen: unknown[] = [];
  b.handle('progress', (params, context) => {
    seen.push([params, context.notification]);
  });
  b.handle('bad', () => {
    throw new Error('nope');
  });
  t.true(a.notify('progress', { done: 3 }));
  t.true(a.notify('bad'));
  await until(() => p.logs.some((e) => e.event === 'rpc-notification-failed'), 'the log line');
  t.deepEqual(seen, [[{ done: 3 }, true]]);
  t.is(a.waiting, 0);
});

test('both sides call each other at once, and answers match their calls', async (t) => {
  const { a, b } = await rpcPair(t);
  a.handle('double', (n) => (n as number) * 2);
  b.handle('square', async (n) => {
    await sleep(Math.random() * 5);
    return (n as number) ** 2;
  });
  const calls = Array.from({ length: 50 }, (_, i) => Promise.all([a.call<number>('square', i), b.call<number>('double', i)]));
  const results = await Promise.all(calls);
  t.deepEqual(results, Array.from({ length: 50 }, (_, i) => [i * i, i * 2]));
});

test('pending calls fail with CONNECTION_CLOSED when the connection goes, and later calls fail at once', async (t) => {
  const { a, b, p } = await rpcPair(t);
  b.handle('hang', () => new Promise(() => {}));
  const pending = a.call('hang');
  await sleep(20);
  p.accepted.destroy();
  const error = await t.throwsAsync(pending, { instanceOf: ConnectionClosedError });
  t.regex(error!.message, /hang: expected an answer from worker-server, but the connection (closed|failed)/);
  t.true(error?.retriable);
  await t.throwsAsync(a.call('hang'), { instanceOf: ConnectionClosedError });
});

test('a CONTROL payload of the wrong shape breaks the protocol and fails the connection', async (t) => {
  const { p } = await rpcPair(t);
  const whenClosed = closed(p.accepted);
  p.client.sendControl(new Uint8Array([0x2a])); // msgpack 42: no object
  const error = await whenClosed;
  t.true(error instanceof TransportProtocolError);
  t.regex(error!.message, /CONTROL payload: expected a request, notification or answer, found number/);
});

test('params msgpackr cannot encode are refused before anything is sent', async (t) => {
  const { a } = await rpcPair(t);
  await t.throwsAsync(a.call('x', { f: Symbol('no') }), { message: /params: expected values msgpackr can encode/ });
});

test('across processes: RPC calls and a channel of batches work between two Node processes', async (t) => {
  const server = await listen({ id: 'test', secret: SECRET });
  t.teardown(() => server.close());
  const accepted = once(server, 'connection');
  const child = fork(new URL('./peer-process.ts', import.meta.url), [String(server.port), SECRET], { execArgv: ['--import=tsx'], stdio: 'ignore' });
  t.teardown(() => void child.kill('SIGKILL'));
  const [connection] = (await accepted) as [FramedConnection];
  const rpc = new RpcPeer(connection);
  const mux = new ChannelMux(connection);
  connection.start();
  const value = { task: 'q3-join[0]', epoch: 7, seqs: new Map([[0, 12]]), bytes: new Uint8Array([9, 8]) };
  t.deepEqual(await rpc.call('echo', value), value);
  const out = mux.output({ index: 0, from: 0, to: 1 }, 1, { batchSize: 256 });
  const total = 200 * 256;
  let sent = 0;
  await new Promise<void>((resolve) => {
    const pump = (): void => {
      while (sent < total && out.writable()) {
        const batch = out.takeBatch();
        for (let i = 0; i < 256; i++) batch.records[i] = { key: sent + i, name: 'n', price: 1.5, ok: true };
        batch.count = 256;
        batch.seq = sent;
        sent += 256;
        out.send(batch);
      }
      if (sent === total) resolve();
    };
    out.onWritable = pump;
    pump();
  });
  let received = { batches: 0, records: 0, keySum: 0, seqEnd: 0 };
  const deadline = Date.now() + 30_000;
  while (received.records < total && Date.now() < deadline) {
    received = await rpc.call('received');
    if (received.records < total) await sleep(10);
  }
  t.deepEqual(received, { batches: 200, records: total, keySum: (total * (total - 1)) / 2, seqEnd: total });
});
