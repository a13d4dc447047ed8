import test from 'ava';
import fc from 'fast-check';
import { FrameCorruptionError, FrameReader, decodeFrame, type Frame } from '../../lib/transport/tcp/index.js';
import { checkProperty } from '../helpers/property.js';
import { goldenFrames, goldenStream } from './golden-frames.js';
import { dataBatch, encode } from './helpers.js';

/** A comparable summary of a frame (views copied). */
function summary(frame: Frame): string {
  // Buffer's toJSON runs before a replacer would, so map the views first.
  return JSON.stringify(Object.entries(frame).map(([key, value]: [string, unknown]) => [key, value instanceof Uint8Array ? Buffer.from(value).toString('hex') : value]));
}

const stream = goldenStream(goldenFrames());
const expected = goldenFrames().map((f) => summary(decodeFrame(f.bytes)));

function readAll(reader: FrameReader, chunks: Uint8Array[]): string[] {
  const out: string[] = [];
  for (const chunk of chunks) {
    reader.push(chunk);
    for (let frame = reader.next(); frame !== undefined; frame = reader.next()) out.push(summary(frame));
  }
  reader.finish();
  return out;
}

test('one chunk holding every golden frame gives them all, in order', (t) => {
  t.deepEqual(readAll(new FrameReader(), [stream]), expected);
});

test('a stream cut in two at every single point gives the same frames', (t) => {
  for (let cut = 0; cut <= stream.length; cut++) {
    t.deepEqual(readAll(new FrameReader(), [stream.subarray(0, cut), stream.subarray(cut)]), expected, `cut at ${cut}`);
  }
});

test('a stream fed one byte at a time gives the same frames', (t) => {
  const chunks = Array.from({ length: stream.length }, (_, i) => stream.subarray(i, i + 1));
  t.deepEqual(readAll(new FrameReader(), chunks), expected);
});

test('chunks of random sizes, split and merged across frames, give the same frames', (t) => {
  checkProperty(
    t,
    fc.property(fc.array(fc.integer({ min: 0, max: stream.length }), { maxLength: 30 }), (cuts) => {
      const points = [...new Set([0, ...cuts, stream.length])].sort((a, b) => a - b);
      const chunks = points.slice(1).map((end, i) => stream.subarray(points[i]!, end));
      return JSON.stringify(readAll(new FrameReader(), chunks)) === JSON.stringify(expected);
    }),
    300,
  );
});

test('a frame straddling chunks is copied once into a reused buffer, not re-joined per chunk', (t) => {
  const big = encode((e, o) => e.data(o, 1, 1, dataBatch(0, 1000)));
  const reader = new FrameReader();
  const step = 100;
  for (let i = 0; i < big.length; i += step) {
    reader.push(big.subarray(i, i + step));
    const frame = reader.next();
    if (i + step < big.length) t.is(frame, undefined);
    else t.is(frame?.type, 1);
    t.is(reader.buffered, Math.min(i + step, big.length) % big.length, 'only the bytes of the incomplete frame are held');
  }
});

test('frames left unread before a push stay in order ahead of the new chunk', (t) => {
  const frames = goldenFrames();
  const reader = new FrameReader();
  reader.push(goldenStream(frames.slice(0, 3)));
  t.is(summary(reader.next()!), expected[0]!);
  reader.push(goldenStream(frames.slice(3)));
  const rest: string[] = [];
  for (let frame = reader.next(); frame !== undefined; frame = reader.next()) rest.push(summary(frame));
  t.deepEqual(rest, expected.slice(1));
});

test('a stream that ends inside a frame is a torn frame, reported with its offset', (t) => {
  const reader = new FrameReader();
  reader.push(stream.subarray(0, goldenFrames()[0]!.bytes.length + 7));
  t.truthy(reader.next());
  t.is(reader.next(), undefined);
  const error = t.throws(() => reader.finish(), { instanceOf: FrameCorruptionError, message: /stream ended inside a frame: 7 bytes .*the peer closed or died while writing it/ });
  t.is(error?.offset, goldenFrames()[0]!.bytes.length);
});
