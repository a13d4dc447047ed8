/**
 * The canonical content of the golden frame fixtures (`fixtures/frames.bin` and its hex twin
 * `fixtures/frames.hex`). `frame-golden.test.ts` checks that encoding it gives exactly the committed
 * bytes; `npx tsx test/transport/fixtures/make-frames.ts` rewrites them, only for a deliberate change of
 * the wire format, which must also bump `PROTOCOL_VERSION`.
 */
import { ElementType } from '../../lib/transport/batch.js';
import { CreditFlags, FrameType, PROTOCOL_VERSION, RefuseReason } from '../../lib/transport/tcp/index.js';
import { controlBatch, dataBatch, encode } from './helpers.js';

/** One golden frame: a name, a readable description (the hex twin's comment line) and its bytes. */
export interface GoldenFrame {
  name: string;
  description: string;
  bytes: Uint8Array;
}

const nonce = (start: number): Uint8Array => Uint8Array.from({ length: 32 }, (_, i) => (start + i) & 0xff);

/** Every frame type once, DATA with and without an envelope and with each element type. */
export function goldenFrames(): GoldenFrame[] {
  const withEnvelope = dataBatch(2 ** 40 + 7, 3, 4);
  withEnvelope.timestamps[1] = Number.NaN;
  withEnvelope.envelope.append(new Uint8Array([0x01, 0x02, 0x00, 0x07, 0xca, 0xfe]));
  withEnvelope.envelopeLength = 6;
  const plain = dataBatch(5, 2);
  return [
    { name: 'data-envelope', description: 'DATA channel 3 incarnation 2, 3 records from seq 2^40+7, 6-byte envelope', bytes: encode((e, o) => e.data(o, 3, 2, withEnvelope)) },
    { name: 'data-plain', description: 'DATA channel 0 incarnation 0, 2 records from seq 5, no envelope', bytes: encode((e, o) => e.data(o, 0, 0, plain)) },
    { name: 'barrier', description: 'DATA channel 3 incarnation 2, BARRIER checkpoint 17 at seq 9', bytes: encode((e, o) => e.data(o, 3, 2, controlBatch(ElementType.Barrier, 9, 17))) },
    { name: 'watermark', description: 'DATA channel 3 incarnation 2, WATERMARK 1763683200000 at seq 10', bytes: encode((e, o) => e.data(o, 3, 2, controlBatch(ElementType.Watermark, 10, 1_763_683_200_000))) },
    { name: 'end', description: 'DATA channel 3 incarnation 2, END at seq 11', bytes: encode((e, o) => e.data(o, 3, 2, controlBatch(ElementType.End, 11, 0))) },
    { name: 'credit', description: 'CREDIT channel 3 incarnation 2, 4 batches, consumer replaying', bytes: encode((e, o) => e.credit(o, 3, 2, 4, CreditFlags.ConsumerReplaying)) },
    { name: 'control', description: 'CONTROL payload 93 01 a1 78 c3', bytes: encode((e, o) => e.control(o, new Uint8Array([0x93, 0x01, 0xa1, 0x78, 0xc3]))) },
    { name: 'hello', description: `HELLO version ${PROTOCOL_VERSION}, nonce 00..1f, id worker-1`, bytes: encode((e, o) => e.greeting(o, FrameType.Hello, PROTOCOL_VERSION, nonce(0), 'worker-1')) },
    { name: 'challenge', description: `CHALLENGE version ${PROTOCOL_VERSION}, nonce 80..9f, id worker-2`, bytes: encode((e, o) => e.greeting(o, FrameType.Challenge, PROTOCOL_VERSION, nonce(0x80), 'worker-2')) },
    { name: 'response', description: 'RESPONSE proof 40..5f', bytes: encode((e, o) => e.proof(o, FrameType.Response, nonce(0x40))) },
    { name: 'welcome', description: 'WELCOME proof c0..df', bytes: encode((e, o) => e.proof(o, FrameType.Welcome, nonce(0xc0))) },
    { name: 'refuse', description: 'REFUSE reason auth', bytes: encode((e, o) => e.refuse(o, RefuseReason.Auth, 'auth')) },
    { name: 'heartbeat', description: 'HEARTBEAT 42', bytes: encode((e, o) => e.heartbeat(o, 42)) },
  ];
}

/** The hex twin: per frame a `# name: description` line, then its bytes as hex, 32 bytes a line. */
export function hexTwin(frames: GoldenFrame[]): string {
  const blocks = frames.map((f) => `# ${f.name}: ${f.description}\n${Buffer.from(f.bytes).toString('hex').replace(/(.{64})/g, '$1\n').trim()}`);
  return `${blocks.join('\n')}\n`;
}

/** All golden frames back to back, as one stream. */
export function goldenStream(frames: GoldenFrame[]): Uint8Array {
  return Buffer.concat(frames.map((f) => f.bytes));
}
