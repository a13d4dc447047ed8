/**
 * A record's identity as one number, for checks whose both sides run TypeScript: a recovery run's sink
 * against its oracle replay or failure-free reference. The Flink comparison keeps {@link lineHash}: there the
 * Java side formats lines, and only the text is common to both.
 */

// Why not `lineHash(JSON.stringify(record))`: on this machine that costs about 1.8 µs a Q1 record, more
// than the query itself; a worker that also runs the check then falls behind at the rate it is paced at, and
// the failure run measures the check. Hashing the values where they are costs about 0.1 µs.

const TWO_TO_32 = 4294967296;
const MAX_CACHED_KEYS = 4096;
const FLOAT_SCRATCH = new Float64Array(1);
const FLOAT_SCRATCH_WORDS = new Uint32Array(FLOAT_SCRATCH.buffer);

/** Each key's hash, so that records of one shape hash their keys once per process (bounded: see MAX_CACHED_KEYS). */
const keyHashes = new Map<string, number>();

// The running state of one recordHash call: two 32-bit FNV-1a-like lanes, as in lineHash.
let lane1 = 0;
let lane2 = 0;

/** Tags keep values of different types apart: the number 1, the string "1" and `true` hash differently. */
const enum Tag {
  Integer = 1,
  Float = 2,
  Text = 3,
  True = 4,
  False = 5,
  Null = 6,
  List = 7,
  ObjectStart = 8,
  ObjectEnd = 9,
  Key = 10,
}

function mix(word: number): void {
  lane1 = Math.imul(lane1 ^ word, 0x01000193);
  lane2 = Math.imul((lane2 ^ word) + 0x9e3779b9, 0x85ebca6b);
}

function mixNumber(n: number): void {
  if (Number.isSafeInteger(n)) {
    // Both halves of the integer; -0 and 0 hash alike, as JSON prints them alike.
    mix(Tag.Integer);
    mix(n | 0);
    mix((n / TWO_TO_32) | 0);
    return;
  }
  if (!Number.isFinite(n)) {
    // JSON prints NaN and the infinities as null.
    mix(Tag.Null);
    return;
  }
  FLOAT_SCRATCH[0] = n;
  mix(Tag.Float);
  mix(FLOAT_SCRATCH_WORDS[0]!);
  mix(FLOAT_SCRATCH_WORDS[1]!);
}

function mixText(text: string): void {
  mix(Tag.Text);
  mix(text.length);
  for (let i = 0; i < text.length; i++) mix(text.charCodeAt(i));
}

function textHash(text: string): number {
  let h = 0x811c9dc5 | 0;
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 0x01000193);
  return Math.imul(h ^ text.length, 0x01000193);
}

function mixKey(key: string): void {
  let hash = keyHashes.get(key);
  if (hash === undefined) {
    hash = textHash(key);
    if (keyHashes.size < MAX_CACHED_KEYS) keyHashes.set(key, hash);
  }
  mix(Tag.Key);
  mix(hash);
}

function mixValue(value: unknown): void {
  switch (typeof value) {
    case 'number':
      mixNumber(value);
      return;
    case 'string':
      mixText(value);
      return;
    case 'boolean':
      mix(value ? Tag.True : Tag.False);
      return;
    case 'object': {
      if (value === null) {
        mix(Tag.Null);
        return;
      }
      if (Array.isArray(value)) {
        mix(Tag.List);
        mix(value.length);
        for (let i = 0; i < value.length; i++) mixValue(value[i]);
        return;
      }
      const toJSON = (value as { toJSON?: unknown }).toJSON;
      if (typeof toJSON === 'function') {
        // A Date, for one: JSON prints what toJSON returns.
        mixValue(toJSON.call(value));
        return;
      }
      mix(Tag.ObjectStart);
      const fields = value as Record<string, unknown>;
      // for…in visits keys in the order JSON.stringify prints them; own keys only, as it does.
      for (const key in fields) {
        if (!Object.prototype.hasOwnProperty.call(fields, key)) continue;
        const field = fields[key];
        // JSON leaves such fields out: a record that has one equals the record without it.
        if (field === undefined || typeof field === 'function' || typeof field === 'symbol') continue;
        mixKey(key);
        mixValue(field);
      }
      mix(Tag.ObjectEnd);
      return;
    }
    default:
      // undefined, bigint, functions and symbols: by their text (JSON would throw or drop them).
      mixText(String(value));
  }
}

/**
 * A 52-bit hash of a record (exact in a double), from its keys, in their order, and its values, without
 * printing it: records that print as the same JSON hash alike, and two records that differ collide at
 * about one chance in 10^15 per pair. Stable across processes, so worker processes and the coordinator agree.
 */
export function recordHash(record: unknown): number {
  lane1 = 0x811c9dc5 | 0;
  lane2 = 0x5bd1e995 | 0;
  mixValue(record);
  return (lane1 >>> 0) * 1048576 + ((lane2 >>> 12) & 0xfffff);
}
