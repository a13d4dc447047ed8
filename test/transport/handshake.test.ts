import test from 'ava';
import { once } from 'node:events';
import { connect as netConnect, createServer, type AddressInfo, type Socket } from 'node:net';
import { GrowableBytes } from '../../determinants/bytes.js';
import {
  FrameEncoder,
  FrameReader,
  FrameType,
  HandshakeError,
  InvalidSecretError,
  PROTOCOL_VERSION,
  connect,
  generateSecret,
  listen,
  parseSecret,
  type Frame,
  type HandshakeError as HandshakeErrorType,
  type TransportLogEvent,
} from '../../lib/transport/tcp/index.js';
import { OTHER_SECRET, SECRET, dataBatch, encode, pair } from './helpers.js';

async function refusedServer(t: { teardown: (fn: () => Promise<void>) => void }, options: { handshakeTimeoutMs?: number } = {}) {
  const logs: TransportLogEvent[] = [];
  const server = await listen({ id: 'worker-2', secret: SECRET, logger: (e) => logs.push(e), ...options });
  t.teardown(() => server.close());
  const refused = once(server, 'refused') as Promise<[HandshakeErrorType]>;
  return { server, logs, refused };
}

/** Opens a raw socket to `port`, writes `bytes`, and collects what comes back until the server closes. */
async function rawExchange(port: number, bytes: Uint8Array | null): Promise<Frame[]> {
  const socket = netConnect({ port, host: '127.0.0.1' });
  socket.on('error', () => {});
  await once(socket, 'connect');
  if (bytes !== null) socket.write(bytes);
  const reader = new FrameReader();
  const frames: Frame[] = [];
  socket.on('data', (chunk: Buffer) => {
    reader.push(chunk);
    for (let f = reader.next(); f !== undefined; f = reader.next()) frames.push(f.type === FrameType.Refuse ? { ...f } : f);
  });
  await once(socket, 'close');
  return frames;
}

test('a client with the right secret is accepted, and both sides learn the authenticated ids', async (t) => {
  const p = await pair();
  t.teardown(p.close);
  t.is(p.client.remoteId, 'worker-server');
  t.is(p.accepted.remoteId, 'worker-client');
  t.is(p.server.host, '127.0.0.1', 'loopback unless asked otherwise');
  t.true(p.server.port > 0);
  t.is(p.server.address, `127.0.0.1:${p.server.port}`);
  t.true(p.logs.some((e) => e.event === 'connection-accepted'));
  const got = once(p.accepted, 'frame') as Promise<[Frame]>;
  p.client.sendControl(new Uint8Array([1, 2, 3]));
  const [frame] = await got;
  t.deepEqual(frame.type === FrameType.Control ? [...frame.payload] : null, [1, 2, 3]);
});

test('a client with the wrong secret is refused by the server, and the refusal is logged on both sides', async (t) => {
  const { server, logs, refused } = await refusedServer(t);
  const clientLogs: TransportLogEvent[] = [];
  const error = await t.throwsAsync(connect({ id: 'intruder', secret: OTHER_SECRET, port: server.port, logger: (e) => clientLogs.push(e) }), { instanceOf: HandshakeError });
  t.is(error?.code, 'HANDSHAKE_FAILED');
  t.is(error?.reason, 'auth');
  t.regex(error!.message, /refused by the peer/);
  const [serverSide] = await refused;
  t.is(serverSide.reason, 'auth');
  t.regex(serverSide.message, /client intruder failed to prove the shared secret/);
  t.true(logs.some((e) => e.event === 'handshake-refused' && e.level === 'warn' && /intruder/.test(e.message)));
  t.true(clientLogs.some((e) => e.event === 'handshake-failed'));
  t.is(server.refusedCount, 1);
  t.is(server.connections.size, 0);
});

test('a client that skips the handshake and sends a data frame first is refused with a REFUSE and closed', async (t) => {
  const { server, logs, refused } = await refusedServer(t);
  const frames = await rawExchange(server.port, encode((e, o) => e.data(o, 0, 0, dataBatch(0, 2))));
  const [error] = await refused;
  t.is(error.reason, 'protocol');
  t.regex(error.message, /expected HELLO, found DATA/);
  t.like(frames, [{ type: FrameType.Refuse, message: 'protocol' }]);
  t.true(logs.some((e) => e.event === 'handshake-refused'));
});

test('a client speaking another protocol (an HTTP request) is refused without buffering its bytes', async (t) => {
  const { server, refused } = await refusedServer(t);
  void rawExchange(server.port, Buffer.from('GET / HTTP/1.1\r\nHost: localhost\r\n\r\n'));
  const [error] = await refused;
  t.is(error.reason, 'protocol');
  t.regex(error.message, /expected a handshake frame, found bytes that are none: .*expected at most 1024/);
});

test('a client that connects and says nothing is refused when the handshake times out', async (t) => {
  const { server, refused } = await refusedServer(t, { handshakeTimeoutMs: 150 });
  const frames = rawExchange(server.port, null);
  const [error] = await refused;
  t.is(error.reason, 'timeout');
  t.true(error.retriable);
  t.like(await frames, [{ type: FrameType.Refuse, message: 'timeout' }]);
});

test('a client of another protocol version is refused, and says which version the server speaks', async (t) => {
  const { server, refused } = await refusedServer(t);
  const error = await t.throwsAsync(connect({ id: 'old', secret: SECRET, port: server.port, version: PROTOCOL_VERSION + 1 }), { instanceOf: HandshakeError });
  t.is(error?.reason, 'version');
  const [serverSide] = await refused;
  t.regex(serverSide.message, new RegExp(`expected protocol version ${PROTOCOL_VERSION}, the client speaks ${PROTOCOL_VERSION + 1}`));
});

test('a server with the wrong secret is refused: its check of the client fails first, so the client is told', async (t) => {
  const server = await listen({ id: 'impostor', secret: OTHER_SECRET });
  t.teardown(() => server.close());
  const error = await t.throwsAsync(connect({ id: 'worker-1', secret: SECRET, port: server.port }), { instanceOf: HandshakeError });
  t.is(error?.reason, 'auth');
});

/** A fake server that plays the handshake without the secret: CHALLENGE, then a WELCOME with a made-up proof. */
async function impostor(t: { teardown: (fn: () => void) => void }, received: Buffer[]): Promise<number> {
  const encoder = new FrameEncoder();
  const sockets: Socket[] = [];
  const server = createServer((socket) => {
    sockets.push(socket);
    socket.on('error', () => {});
    const reader = new FrameReader();
    socket.on('data', (chunk: Buffer) => {
      received.push(chunk);
      reader.push(chunk);
      for (let frame = reader.next(); frame !== undefined; frame = reader.next()) {
        const out = new GrowableBytes(128);
        if (frame.type === FrameType.Hello) encoder.greeting(out, FrameType.Challenge, PROTOCOL_VERSION, new Uint8Array(32).fill(7), 'worker-2');
        else if (frame.type === FrameType.Response) encoder.proof(out, FrameType.Welcome, new Uint8Array(32).fill(9));
        else continue;
        socket.write(out.view().slice());
      }
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  t.teardown(() => {
    for (const s of sockets) s.destroy();
    server.close();
  });
  return (server.address() as AddressInfo).port;
}

test('mutual: a server that cannot prove the secret (a forged WELCOME) is refused by the client', async (t) => {
  const received: Buffer[] = [];
  const port = await impostor(t, received);
  const error = await t.throwsAsync(connect({ id: 'worker-1', secret: SECRET, port }), { instanceOf: HandshakeError });
  t.is(error?.reason, 'auth');
  t.regex(error!.message, /server worker-2 failed to prove the shared secret/);
});

test('the secret never travels: nothing the client sends contains it, in bytes, hex or base64', async (t) => {
  const received: Buffer[] = [];
  const port = await impostor(t, received);
  await t.throwsAsync(connect({ id: 'worker-1', secret: SECRET, port }));
  const sent = Buffer.concat(received);
  const secret = parseSecret(SECRET);
  t.true(sent.length > 0);
  t.is(sent.indexOf(secret), -1);
  t.is(sent.indexOf(Buffer.from(SECRET)), -1);
  t.is(sent.indexOf(Buffer.from(secret.toString('base64'))), -1);
  for (let i = 0; i + 8 <= secret.length; i += 8) t.is(sent.indexOf(secret.subarray(i, i + 8)), -1, `no 8-byte piece of the secret at ${i}`);
});

test('a client asking for a specific server refuses another one', async (t) => {
  const server = await listen({ id: 'worker-3', secret: SECRET });
  t.teardown(() => server.close());
  const error = await t.throwsAsync(connect({ id: 'worker-1', secret: SECRET, port: server.port, expectPeer: 'worker-2' }), { instanceOf: HandshakeError });
  t.is(error?.reason, 'peer');
  t.regex(error!.message, /expected server worker-2, found worker-3/);
});

test('secrets are 32 bytes given as hex, base64 or bytes; anything else is refused without echoing it', (t) => {
  const bytes = parseSecret(SECRET);
  t.is(bytes.length, 32);
  t.deepEqual(parseSecret(bytes.toString('base64')), bytes);
  t.deepEqual(parseSecret(bytes.toString('base64url')), bytes);
  t.deepEqual(parseSecret(new Uint8Array(bytes)), bytes);
  t.is(parseSecret(generateSecret()).length, 32);
  t.not(generateSecret(), generateSecret());
  const error = t.throws(() => parseSecret('hunter2-but-longer'), { instanceOf: InvalidSecretError });
  t.false(error!.message.includes('hunter2'));
  t.throws(() => parseSecret(new Uint8Array(16)), { instanceOf: InvalidSecretError, message: /found 16 bytes/ });
});

test('listen refuses a malformed secret at startup, and binds another address only when asked', async (t) => {
  await t.throwsAsync(listen({ id: 'w', secret: 'short' }), { instanceOf: InvalidSecretError });
  const server = await listen({ id: 'w', secret: SECRET, host: '0.0.0.0', advertisedHost: '10.1.2.3' });
  t.teardown(() => server.close());
  t.is(server.host, '0.0.0.0');
  t.is(server.address, `10.1.2.3:${server.port}`);
});

test('connecting to a port nobody listens on is a retriable CONNECT_FAILED', async (t) => {
  const server = await listen({ id: 'w', secret: SECRET });
  const port = server.port;
  await server.close();
  const error = await t.throwsAsync(connect({ id: 'c', secret: SECRET, port }));
  t.like(error, { code: 'CONNECT_FAILED', retriable: true });
});
