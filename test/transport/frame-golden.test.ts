import test from 'ava';
import { readFileSync } from 'node:fs';
import { Batch, ElementType } from '../../lib/transport/batch.js';
import { BatchDecoder, FrameReader, FrameType, decodeFrame, frameTypeName, type Frame } from '../../lib/transport/tcp/index.js';
import { goldenFrames, goldenStream, hexTwin } from './golden-frames.js';

const fixture = (name: string): Buffer => readFileSync(new URL(`fixtures/${name}`, import.meta.url));

test('encoding the golden frames gives exactly the committed bytes (a wire-format change must fail here)', (t) => {
  t.deepEqual(Buffer.from(goldenStream(goldenFrames())), fixture('frames.bin'));
});

test('the hex twin matches the committed frames, frame by frame', (t) => {
  const frames = goldenFrames();
  t.is(fixture('frames.hex').toString('utf8'), hexTwin(frames));
  const hex = fixture('frames.hex')
    .toString('utf8')
    .split('\n')
    .filter((line) => !line.startsWith('#'))
    .join('')
    .replace(/\s/g, '');
  t.is(hex, fixture('frames.bin').toString('hex'));
});

test('the committed stream decodes to the frames its twin describes', (t) => {
  const reader = new FrameReader();
  reader.push(fixture('frames.bin'));
  const decoded: Frame[] = [];
  for (let frame = reader.next(); frame !== undefined; frame = reader.next()) decoded.push(frame);
  t.deepEqual(
    decoded.map((f) => frameTypeName(f.type)),
    ['DATA', 'DATA', 'DATA', 'DATA', 'DATA', 'CREDIT', 'CONTROL', 'HELLO', 'CHALLENGE', 'RESPONSE', 'WELCOME', 'REFUSE', 'HEARTBEAT'],
  );
  const first = decoded[0]!;
  if (first.type !== FrameType.Data) return t.fail('first frame is not DATA');
  t.like(first, { channel: 3, incarnation: 2, elementType: ElementType.Data, seq: 2 ** 40 + 7, count: 3, ingestTime: 12.5 });
  const batch = new Batch(4);
  new BatchDecoder().fill(first, batch);
  t.deepEqual(batch.records.slice(0, 3), [
    { id: 2 ** 40 + 7, name: `r${2 ** 40 + 7}`, price: (2 ** 40 + 7) * 0.5, ok: true },
    { id: 2 ** 40 + 8, name: `r${2 ** 40 + 8}`, price: (2 ** 40 + 8) * 0.5, ok: false },
    { id: 2 ** 40 + 9, name: `r${2 ** 40 + 9}`, price: (2 ** 40 + 9) * 0.5, ok: true },
  ]);
  t.true(Number.isNaN(batch.timestamps[1]!));
  t.deepEqual([...batch.envelope.view(0, batch.envelopeLength)], [0x01, 0x02, 0x00, 0x07, 0xca, 0xfe]);
  t.like(decoded[2], { elementType: ElementType.Barrier, value: 17, seq: 9, count: 0 });
  t.like(decoded[5], { type: FrameType.Credit, channel: 3, incarnation: 2, granted: 4, flags: 1 });
  t.like(decoded[7], { type: FrameType.Hello, version: 1, id: 'worker-1' });
  t.like(decoded[11], { type: FrameType.Refuse, reason: 1, message: 'auth' });
  t.like(decoded[12], { type: FrameType.Heartbeat, sequence: 42 });
  t.is(decodeFrame(fixture('frames.bin').subarray(0, goldenFrames()[0]!.bytes.length)).type, FrameType.Data);
});
