import test from 'ava';
import fc from 'fast-check';
import { Batch, ElementType } from '../../lib/transport/batch.js';
import { BatchDecoder, CreditFlags, FrameEncoder, FrameType, PROTOCOL_VERSION, RefuseReason, decodeFrame, type DataFrame } from '../../lib/transport/tcp/index.js';
import { checkProperty } from '../helpers/property.js';
import { encode } from './helpers.js';
import { GrowableBytes } from '../../determinants/bytes.js';

const recordArb = fc.record({
  id: fc.integer({ min: -1e9, max: 1e9 }),
  name: fc.string({ maxLength: 12 }),
  price: fc.double({ noNaN: true }),
  tags: fc.array(fc.string({ maxLength: 3 }), { maxLength: 3 }),
  blob: fc.option(fc.uint8Array({ maxLength: 8 }), { nil: undefined }),
});

const batchArb = fc.record({
  type: fc.constantFrom(ElementType.Data, ElementType.Barrier, ElementType.Watermark, ElementType.End),
  records: fc.array(recordArb, { minLength: 1, maxLength: 40 }),
  timestamps: fc.array(fc.oneof(fc.double(), fc.constant(Number.NaN)), { minLength: 40, maxLength: 40 }),
  seq: fc.oneof(fc.nat(), fc.constant(Number.MAX_SAFE_INTEGER - 100)),
  value: fc.oneof(fc.double(), fc.constant(Number.NEGATIVE_INFINITY)),
  ingestTime: fc.double({ noNaN: true }),
  envelope: fc.uint8Array({ maxLength: 300 }),
  channel: fc.nat({ max: 0xffffffff }),
  incarnation: fc.nat({ max: 0xffffffff }),
});

test('a batch of every element type, with and without an envelope, round-trips through a DATA frame', (t) => {
  const decoder = new BatchDecoder();
  checkProperty(
    t,
    fc.property(batchArb, (spec) => {
      const batch = new Batch(64);
      batch.type = spec.type;
      batch.seq = spec.seq;
      batch.value = spec.value;
      batch.ingestTime = spec.ingestTime;
      if (spec.type === ElementType.Data) {
        spec.records.forEach((r, i) => {
          batch.records[i] = r;
          batch.timestamps[i] = spec.timestamps[i]!;
        });
        batch.count = spec.records.length;
      }
      if (spec.envelope.length > 0) {
        batch.envelope.append(spec.envelope);
        batch.envelopeLength = spec.envelope.length;
      }
      const frame = decodeFrame(encode((e, o) => e.data(o, spec.channel, spec.incarnation, batch))) as DataFrame;
      const copy = new Batch(64);
      decoder.fill(frame, copy);
      const count = spec.type === ElementType.Data ? spec.records.length : 0;
      return (
        frame.channel === spec.channel &&
        frame.incarnation === spec.incarnation &&
        copy.type === spec.type &&
        copy.seq === spec.seq &&
        Object.is(copy.value, spec.value) &&
        copy.ingestTime === spec.ingestTime &&
        copy.count === count &&
        JSON.stringify(copy.records.slice(0, count)) === JSON.stringify(spec.records.slice(0, count)) &&
        copy.records.slice(0, count).every((r, i) => (r as { blob?: Uint8Array }).blob?.join() === spec.records[i]!.blob?.join()) &&
        Array.from(copy.timestamps.subarray(0, count)).every((ts, i) => Object.is(ts, spec.timestamps[i])) &&
        Buffer.from(copy.envelope.view(0, copy.envelopeLength)).equals(Buffer.from(spec.envelope))
      );
    }),
    200,
  );
});

test('a batch that is not full sends only its records, never the stale slots past count', (t) => {
  const batch = new Batch(8);
  for (let i = 0; i < 8; i++) batch.records[i] = { stale: i };
  batch.records[0] = { live: 1 };
  batch.count = 1;
  const copy = new Batch(8);
  new BatchDecoder().fill(decodeFrame(encode((e, o) => e.data(o, 1, 1, batch))) as DataFrame, copy);
  t.is(copy.count, 1);
  t.deepEqual(copy.records[0], { live: 1 });
  t.is(copy.records[1], undefined);
});

test('decoded binary values are copies: reusing the frame bytes does not change a delivered record', (t) => {
  const batch = new Batch(1);
  batch.records[0] = { blob: new Uint8Array([1, 2, 3]) };
  batch.count = 1;
  const bytes = encode((e, o) => e.data(o, 0, 0, batch));
  const copy = new Batch(1);
  new BatchDecoder().fill(decodeFrame(bytes) as DataFrame, copy);
  bytes.fill(0);
  t.deepEqual([...(copy.records[0] as { blob: Uint8Array }).blob], [1, 2, 3]);
});

test('CREDIT, CONTROL, handshake and HEARTBEAT frames round-trip with every field', (t) => {
  const nonce = Uint8Array.from({ length: 32 }, (_, i) => i * 7);
  t.deepEqual(decodeFrame(encode((e, o) => e.credit(o, 0xfffffffe, 9, 123456, CreditFlags.Closed))), {
    type: FrameType.Credit,
    channel: 0xfffffffe,
    incarnation: 9,
    granted: 123456,
    flags: CreditFlags.Closed,
  });
  const control = decodeFrame(encode((e, o) => e.control(o, new Uint8Array([9, 8, 7]))));
  t.is(control.type, FrameType.Control);
  t.deepEqual(control.type === FrameType.Control ? [...control.payload] : [], [9, 8, 7]);
  t.is(decodeFrame(encode((e, o) => e.control(o, new Uint8Array(0)))).type, FrameType.Control);
  for (const type of [FrameType.Hello, FrameType.Challenge] as const) {
    const frame = decodeFrame(encode((e, o) => e.greeting(o, type, PROTOCOL_VERSION, nonce, 'wörker-ü')));
    t.like(frame, { type, version: PROTOCOL_VERSION, id: 'wörker-ü' });
    t.deepEqual(frame.type === type ? [...frame.nonce] : [], [...nonce]);
  }
  for (const type of [FrameType.Response, FrameType.Welcome] as const) {
    const frame = decodeFrame(encode((e, o) => e.proof(o, type, nonce)));
    t.deepEqual(frame.type === type ? [...frame.proof] : [], [...nonce]);
  }
  t.deepEqual(decodeFrame(encode((e, o) => e.refuse(o, RefuseReason.Version, 'version'))), { type: FrameType.Refuse, reason: RefuseReason.Version, message: 'version' });
  t.deepEqual(decodeFrame(encode((e, o) => e.heartbeat(o, 0xffffffff))), { type: FrameType.Heartbeat, sequence: 0xffffffff });
});

test('the encoder appends frames to one buffer and reuses it: a steady stream does not grow it', (t) => {
  const batch = new Batch(256);
  for (let i = 0; i < 256; i++) batch.records[i] = { a: i, b: 'x', c: i / 2, d: true };
  batch.count = 256;
  const encoder = new FrameEncoder();
  const out = new GrowableBytes(1024);
  const first = encoder.data(out, 1, 1, batch);
  t.is(out.length, first);
  encoder.credit(out, 1, 1, 4);
  t.is(decodeFrame(out.buf, 0, first).type, FrameType.Data, 'frames are appended back to back');
  t.is(decodeFrame(out.buf, first, out.length).type, FrameType.Credit);
  out.length = 0;
  encoder.data(out, 1, 1, batch);
  const storage = out.buf;
  for (let i = 0; i < 100; i++) {
    out.length = 0;
    encoder.data(out, 1, 1, batch);
  }
  t.is(out.buf, storage, 'the buffer was never replaced');
});

test('an id longer than 255 bytes and a nonce of the wrong size are refused by the encoder', (t) => {
  t.throws(() => encode((e, o) => e.greeting(o, FrameType.Hello, 1, new Uint8Array(32), 'x'.repeat(256))), { message: /id: expected at most 255/ });
  t.throws(() => encode((e, o) => e.greeting(o, FrameType.Hello, 1, new Uint8Array(31), 'x')), { message: /nonce: expected 32 bytes/ });
  const batch = new Batch(1);
  batch.seq = -1;
  t.throws(() => encode((e, o) => e.data(o, 0, 0, batch)), { message: /batch.seq: expected a non-negative safe integer/ });
});
