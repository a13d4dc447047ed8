import test from 'ava';
import { fork } from 'node:child_process';
import { once } from 'node:events';
import { ElementType } from '../../lib/transport/batch.js';
import {
  ConnectionClosedError,
  FrameCorruptionError,
  FrameTooLargeError,
  FrameType,
  PeerSilentError,
  TransportProtocolError,
  connect,
  listen,
  type Frame,
  type FramedConnection,
} from '../../lib/transport/tcp/index.js';
import { SECRET, closed, controlBatch, dataBatch, encode, pair, sleep, until } from './helpers.js';

function collect(connection: FramedConnection): Frame[] {
  const frames: Frame[] = [];
  connection.on('frame', (frame) => frames.push(frame.type === FrameType.Control ? { type: frame.type, payload: frame.payload.slice() } : { ...frame }));
  return frames;
}

test('frames sent right after the handshake, in the same chunk as WELCOME, reach the client once it starts', async (t) => {
  const server = await listen({ id: 's', secret: SECRET });
  t.teardown(() => server.close());
  server.on('connection', (connection) => {
    for (let i = 0; i < 3; i++) connection.sendControl(new Uint8Array([i]));
    connection.start();
  });
  const client = await connect({ id: 'c', secret: SECRET, port: server.port });
  t.teardown(() => client.destroy());
  await sleep(50);
  const frames = collect(client);
  t.is(frames.length, 0, 'nothing is dispatched before start()');
  client.start();
  await until(() => frames.length === 3, 'three frames');
  t.deepEqual(frames.map((f) => (f.type === FrameType.Control ? f.payload[0] : -1)), [0, 1, 2]);
});

test('a corrupted frame on a live connection fails it with FRAME_CORRUPT; frames before it arrive, nothing after', async (t) => {
  const p = await pair({ start: false });
  t.teardown(p.close);
  const frames = collect(p.accepted);
  const errors: Error[] = [];
  p.accepted.on('error', (e) => errors.push(e));
  const whenClosed = closed(p.accepted);
  p.accepted.start();
  p.client.start();
  const good = encode((e, o) => e.control(o, new Uint8Array([1])));
  const bad = encode((e, o) => e.control(o, new Uint8Array([2])));
  bad[6]! ^= 0x01;
  const after = encode((e, o) => e.control(o, new Uint8Array([3])));
  p.client.socket.write(Buffer.concat([good, bad, after]));
  const error = await whenClosed;
  t.true(error instanceof FrameCorruptionError);
  t.regex(error!.message, /checksum mismatch/);
  // Stream offsets count from the first byte: HELLO (61 bytes with the id "worker-client") and RESPONSE (45).
  t.is((error as FrameCorruptionError).offset, 61 + 45 + good.length);
  t.deepEqual(frames.map((f) => (f.type === FrameType.Control ? f.payload[0] : -1)), [1]);
  t.is(errors[0], error ?? undefined);
  t.true(p.logs.some((e) => e.event === 'connection-failed' && e.level === 'error' && e.context.code === 'FRAME_CORRUPT'));
  t.is(await closed(p.client), null, 'the peer sees the socket close');
  t.false(p.accepted.sendControl(new Uint8Array([9])), 'a failed connection sends nothing');
});

test('a peer whose stream ends inside a frame (it died mid-write) fails the connection with FRAME_CORRUPT, logged as a warning that says so', async (t) => {
  const p = await pair({ start: false });
  t.teardown(p.close);
  const frames = collect(p.accepted);
  const whenClosed = closed(p.accepted);
  p.accepted.on('error', () => {});
  p.accepted.start();
  p.client.start();
  const good = encode((e, o) => e.control(o, new Uint8Array([1])));
  const cut = encode((e, o) => e.control(o, new Uint8Array([2, 2, 2, 2])));
  // What a SIGKILLed writer leaves: the kernel sends what was written, then the end of the stream.
  p.client.socket.end(Buffer.concat([good, cut.subarray(0, cut.length - 3)]));
  const error = await whenClosed;
  t.true(error instanceof FrameCorruptionError);
  t.regex(error!.message, /stream ended inside a frame: \d+ bytes of an incomplete frame, dropped \(the peer closed or died while writing it\)/);
  t.deepEqual(frames.map((f) => (f.type === FrameType.Control ? f.payload[0] : -1)), [1], 'the complete frame before it arrives');
  const logged = p.logs.filter((e) => e.event === 'connection-failed');
  t.is(logged.length, 1);
  t.is(logged[0]!.level, 'warn', 'a peer that died is not damage in transit');
  t.is(logged[0]!.context.code, 'FRAME_CORRUPT');
});

test('a handshake frame after the handshake breaks the protocol and fails the connection', async (t) => {
  const p = await pair();
  t.teardown(p.close);
  const whenClosed = closed(p.accepted);
  p.client.socket.write(encode((e, o) => e.greeting(o, FrameType.Hello, 1, new Uint8Array(32), 'again')));
  const error = await whenClosed;
  t.true(error instanceof TransportProtocolError);
  t.regex(error!.message, /expected DATA, CREDIT, CONTROL or HEARTBEAT after the handshake, found HELLO/);
});

test('a burst far beyond the socket buffer queues while write() says wait, and every frame arrives in order', async (t) => {
  const p = await pair();
  t.teardown(p.close);
  let received = 0;
  let inOrder = true;
  p.accepted.on('frame', (frame) => {
    if (frame.type !== FrameType.Data || frame.seq !== received * 1024) inOrder = false;
    received++;
  });
  const batch = dataBatch(0, 1024);
  const total = 400; // ~40 MB of frames, written in one synchronous burst
  for (let i = 0; i < total; i++) {
    batch.seq = i * 1024;
    p.client.sendData(1, 1, batch);
  }
  await until(() => received === total, `${total} frames`, 60_000);
  t.true(inOrder);
  t.true(p.client.stats.backpressureWaits > 0, 'the socket asked to wait at least once');
  t.is(p.client.stats.framesOut, total);
});

test('many small frames sent in one turn of the event loop share socket writes', async (t) => {
  const p = await pair();
  t.teardown(p.close);
  let received = 0;
  p.accepted.on('frame', () => received++);
  const writesBefore = p.client.stats.writes;
  for (let i = 0; i < 1000; i++) p.client.sendData(0, 0, controlBatch(ElementType.Watermark, i, i));
  await until(() => received === 1000, '1000 frames');
  t.true(p.client.stats.writes - writesBefore < 10, `${p.client.stats.writes - writesBefore} writes for 1000 frames`);
});

test('a frame above the maximum frame size is refused before it is sent, and the connection stays usable', async (t) => {
  const p = await pair({ client: { maxFrameSize: 4096 } });
  t.teardown(p.close);
  const frames = collect(p.accepted);
  t.throws(() => p.client.sendControl(new Uint8Array(5000)), { instanceOf: FrameTooLargeError, message: /expected at most 4096/ });
  p.client.sendControl(new Uint8Array([7]));
  await until(() => frames.length === 1, 'the small frame');
  t.true(p.client.isOpen);
});

test('a clean close by either side reaches the other with no error, after pending frames', async (t) => {
  const p = await pair();
  t.teardown(p.close);
  const frames = collect(p.accepted);
  p.client.sendControl(new Uint8Array([1]));
  p.client.close();
  t.is(await closed(p.accepted), null);
  t.is(await closed(p.client), null);
  t.is(frames.length, 1);
});

test('a peer that stops sending (not even heartbeats) is reported as silent after the heartbeat timeout', async (t) => {
  // The client sends no heartbeats and stops reading: what a SIGSTOPped process looks like from outside.
  const p = await pair({ server: { heartbeatTimeoutMs: 200 }, client: { heartbeatIntervalMs: 0 } });
  t.teardown(p.close);
  p.client.socket.pause();
  const error = await closed(p.accepted);
  t.true(error instanceof PeerSilentError);
  t.is(error && (error as PeerSilentError).code, 'PEER_SILENT');
  t.regex(error!.message, /expected a frame from the peer at least every 200 ms, found none for \d+ ms/);
  t.true(p.logs.some((e) => e.event === 'connection-failed' && e.context.code === 'PEER_SILENT'));
});

test('a peer that sends heartbeats is not reported silent, even when it has nothing else to send', async (t) => {
  // Generous timeout: the machine may be loaded, and this must not fail on a slow scheduler.
  const p = await pair({ server: { heartbeatTimeoutMs: 2000 }, client: { heartbeatIntervalMs: 50 } });
  t.teardown(p.close);
  await sleep(3000);
  t.true(p.accepted.isOpen, 'still open after 1.5 timeouts');
  t.true(p.accepted.stats.framesIn > 5, 'heartbeats arrived');
});

test('a peer process stopped with SIGSTOP is detected by missed heartbeats, though its socket stays open', async (t) => {
  if (process.platform === 'win32') return t.pass('no SIGSTOP on Windows');
  const server = await listen({ id: 'detector', secret: SECRET, heartbeatTimeoutMs: 1500, heartbeatIntervalMs: 50 });
  t.teardown(() => server.close());
  const accepted = once(server, 'connection') as Promise<[FramedConnection]>;
  const child = fork(new URL('./peer-process.ts', import.meta.url), [String(server.port), SECRET], { execArgv: ['--import=tsx'], stdio: 'ignore' });
  t.teardown(() => {
    child.kill('SIGCONT');
    child.kill('SIGKILL');
  });
  const [connection] = await accepted;
  connection.start();
  await sleep(1000);
  t.true(connection.isOpen, 'a running peer keeps the connection alive');
  const whenClosed = closed(connection);
  child.kill('SIGSTOP');
  const error = await whenClosed;
  t.true(error instanceof PeerSilentError, String(error));
});

test('destroy() without an error closes at once with no error; RPC-style waiters see CONNECTION_CLOSED', async (t) => {
  const p = await pair();
  t.teardown(p.close);
  const whenClosed = closed(p.client);
  p.client.destroy();
  t.is(await whenClosed, null);
  t.false(p.client.isOpen);
  const error = await closed(p.accepted);
  t.true(error === null || error instanceof ConnectionClosedError);
});

test('a client that refuses the server after WELCOME fails the server side of the connection with HANDSHAKE_FAILED', async (t) => {
  const p = await pair();
  t.teardown(p.close);
  const whenClosed = closed(p.accepted);
  // What a client sends when the server's proof does not check out (the server finished its half first).
  p.client.socket.write(encode((e, o) => e.refuse(o, 1, 'auth')));
  const error = await whenClosed;
  t.like(error, { code: 'HANDSHAKE_FAILED', reason: 'auth' });
  t.regex(error!.message, /refused by the peer \(auth\)/);
});
