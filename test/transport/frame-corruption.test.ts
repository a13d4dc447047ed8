import test from 'ava';
import { Batch, ElementType } from '../../lib/transport/batch.js';
import { BatchDecoder, FrameCorruptionError, FrameReader, FrameType, decodeFrame, putU32, type DataFrame } from '../../lib/transport/tcp/index.js';
import { goldenFrames } from './golden-frames.js';
import { controlBatch, dataBatch, encode, rawFrame } from './helpers.js';

function sampleFrames(): { name: string; bytes: Uint8Array }[] {
  const withEnvelope = dataBatch(100, 5);
  withEnvelope.envelope.append(new Uint8Array([1, 2, 3, 4, 5, 6, 7, 8]));
  withEnvelope.envelopeLength = 8;
  return [
    { name: 'DATA with envelope', bytes: encode((e, o) => e.data(o, 2, 1, withEnvelope)) },
    { name: 'BARRIER', bytes: encode((e, o) => e.data(o, 2, 1, controlBatch(ElementType.Barrier, 7, 3))) },
    { name: 'CREDIT', bytes: encode((e, o) => e.credit(o, 2, 1, 4)) },
    ...goldenFrames().filter((f) => ['hello', 'response', 'heartbeat'].includes(f.name)),
  ];
}

test('every single flipped bit of a frame is caught by decodeFrame, and nothing of it is returned', (t) => {
  for (const { name, bytes } of sampleFrames()) {
    for (let byte = 0; byte < bytes.length; byte++) {
      for (let bit = 0; bit < 8; bit++) {
        const bad = bytes.slice();
        bad[byte]! ^= 1 << bit;
        t.throws(() => decodeFrame(bad), { instanceOf: FrameCorruptionError, message: /corrupt frame at offset 0/ }, `${name}: byte ${byte} bit ${bit}`);
      }
    }
  }
});

test('every single flipped bit is caught by the streaming reader too: an error, or a torn frame at the end of the stream', (t) => {
  for (const { name, bytes } of sampleFrames()) {
    for (let byte = 0; byte < bytes.length; byte++) {
      for (let bit = 0; bit < 8; bit++) {
        const bad = bytes.slice();
        bad[byte]! ^= 1 << bit;
        const reader = new FrameReader();
        const error = t.throws(
          () => {
            reader.push(bad);
            // A length grown by the flip waits for bytes that never come; a shrunk one fails at once.
            while (reader.next() !== undefined) t.fail(`${name}: decoded a frame from corrupt bytes`);
            reader.finish();
          },
          { instanceOf: FrameCorruptionError },
          `${name}: byte ${byte} bit ${bit}`,
        );
        t.is(error?.code, 'FRAME_CORRUPT');
        t.throws(() => reader.next(), { is: error! }, 'the reader stays failed');
      }
    }
  }
});

test('the error names the stream offset of the bad frame after good ones', (t) => {
  const good = encode((e, o) => e.credit(o, 1, 1, 1));
  const bad = encode((e, o) => e.credit(o, 1, 1, 2));
  bad[10]! ^= 0x40;
  const reader = new FrameReader();
  reader.push(Buffer.concat([good, good, bad]));
  t.is(reader.next()?.type, FrameType.Credit);
  t.is(reader.next()?.type, FrameType.Credit);
  const error = t.throws(() => reader.next(), { instanceOf: FrameCorruptionError, message: /checksum mismatch: computed 0x[0-9a-f]{16}, frame carries 0x[0-9a-f]{16}/ });
  t.is(error?.offset, good.length * 2);
});

test('an absurd length is refused as soon as its four bytes are in, before anything is buffered', (t) => {
  const reader = new FrameReader({ maxFrameSize: 1 << 20 });
  const header = new Uint8Array(4);
  putU32(header, 0, 0xfffffff0);
  reader.push(header.subarray(0, 2));
  t.is(reader.next(), undefined, 'two bytes of a length: nothing to judge yet');
  reader.push(header.subarray(2));
  const error = t.throws(() => reader.next(), { instanceOf: FrameCorruptionError, message: /length field says 4294967280 bytes: expected at most 1048576/ });
  t.is(error?.context.maxFrameSize, 1 << 20);
  t.true(reader.buffered <= 4);
  const whole = new FrameReader();
  const big = new Uint8Array(16);
  putU32(big, 0, 0x7fffffff);
  whole.push(big);
  t.throws(() => whole.next(), { instanceOf: FrameCorruptionError, message: /expected at most 67108864/ });
});

test('a length below the smallest frame is refused', (t) => {
  const reader = new FrameReader();
  reader.push(new Uint8Array([4, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0]));
  t.throws(() => reader.next(), { instanceOf: FrameCorruptionError, message: /length field says 4 bytes: expected at least 13/ });
  t.throws(() => decodeFrame(new Uint8Array(5)), { instanceOf: FrameCorruptionError, message: /expected at least 13 bytes, found 5/ });
});

test('an unknown frame type with a valid checksum is refused', (t) => {
  t.throws(() => decodeFrame(rawFrame(42, new Uint8Array(4))), { instanceOf: FrameCorruptionError, message: /unknown frame type 42: expected 1-9/ });
  t.throws(() => decodeFrame(rawFrame(0, new Uint8Array(0))), { instanceOf: FrameCorruptionError, message: /unknown frame type 0/ });
});

test('a DATA frame whose header promises more than it holds is refused, checksum or not', (t) => {
  const frame = encode((e, o) => e.data(o, 0, 0, dataBatch(0, 3)));
  const body = frame.subarray(5, frame.length - 8).slice();
  // Claim 10 more record bytes than there are, then re-seal with a valid checksum.
  putU32(body, 41, (body[41]! | (body[42]! << 8)) + 10);
  t.throws(() => decodeFrame(rawFrame(FrameType.Data, body)), { instanceOf: FrameCorruptionError, message: /DATA header says .* the frame holds/ });
  t.throws(() => decodeFrame(rawFrame(FrameType.Data, body.subarray(0, 20))), { instanceOf: FrameCorruptionError, message: /shorter than its 45-byte header/ });
  const control = encode((e, o) => e.data(o, 0, 0, controlBatch(ElementType.End, 1, 0))).subarray(5, -8).slice();
  putU32(control, 17, 2);
  t.throws(() => decodeFrame(rawFrame(FrameType.Data, control)), { instanceOf: FrameCorruptionError, message: /control element with 2 records/ });
  control[8] = 9;
  t.throws(() => decodeFrame(rawFrame(FrameType.Data, control)), { instanceOf: FrameCorruptionError, message: /element type 9: expected 0-3/ });
});

test('records that are no array of count values are refused when filling a batch, which stays untouched', (t) => {
  const frame = encode((e, o) => e.data(o, 0, 0, dataBatch(0, 2)));
  const decoded = decodeFrame(frame) as DataFrame;
  const lying: DataFrame = { ...decoded, count: 3, timestamps: new Uint8Array(24) };
  const batch = new Batch(4);
  t.throws(() => new BatchDecoder().fill(lying, batch), { instanceOf: FrameCorruptionError, message: /records: expected an array of 3, found an array of 2/ });
  t.is(batch.count, 0);
  const garbage: DataFrame = { ...decoded, records: new Uint8Array([0x92, 0x01]) };
  t.throws(() => new BatchDecoder().fill(garbage, batch), { instanceOf: FrameCorruptionError, message: /records do not decode/ });
  t.throws(() => new BatchDecoder().fill(decoded, new Batch(1)), { instanceOf: FrameCorruptionError, message: /expected at most the batch capacity 1/ });
});

test('a handshake text field that is not UTF-8 is refused', (t) => {
  const body = new Uint8Array(2 + 32 + 1 + 2);
  body[0] = 1;
  body[34] = 2;
  body[35] = 0xff;
  body[36] = 0xfe;
  t.throws(() => decodeFrame(rawFrame(FrameType.Hello, body)), { instanceOf: FrameCorruptionError, message: /not valid UTF-8/ });
});
