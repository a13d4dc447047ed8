/**
 * Determinant kinds: numbered, append-only, each with a documented byte layout
 * (see `docs/determinants.md`). An id is never reused; a new kind takes the next free id.
 */
import { InvalidArgumentError } from './errors.js';

/** Built-in determinant kinds. The value is the tag byte of the long form. */
export const Kind = {
  /** Which input channel delivered the next run of elements, and how many. */
  Order: 0x01,
  /** A wall-clock read in milliseconds (`Date.now()`). */
  Clock: 0x02,
  /** A processing-time timer fired: timer id, timestamp and position. */
  Timer: 0x03,
  /** The seed drawn for the epoch's seeded PRNG. */
  RandomSeed: 0x04,
  /** The result of an external call: call id and payload bytes. */
  External: 0x05,
  /** A source injected checkpoint barrier `n` at a position. */
  SourceBarrier: 0x06,
  /** One source read: partition and record count. */
  SourcePoll: 0x07,
  /** A checkpoint was abandoned, noticed at a position. */
  AbortCheckpoint: 0x08,
  /** A monotonic-clock read in microseconds (`performance.now()`). */
  MonotonicClock: 0x09,
} as const;

/** A built-in kind id. */
export type BuiltinKind = (typeof Kind)[keyof typeof Kind];

/** First id of the range reserved for user-defined kinds. */
export const USER_KIND_MIN = 0x40;
/** Last id of the range reserved for user-defined kinds. */
export const USER_KIND_MAX = 0x7f;
/**
 * Tag bytes with the high bit set are the compact form of {@link Kind.Order}:
 * bits 6..4 hold the channel (0..7) and bits 3..0 hold the count minus one (1..16).
 */
export const COMPACT_ORDER_FLAG = 0x80;
/** Largest channel index the compact order form can hold. */
export const COMPACT_ORDER_MAX_CHANNEL = 7;
/** Largest run length the compact order form can hold. */
export const COMPACT_ORDER_MAX_COUNT = 16;

const builtinNames: Record<number, string> = {
  [Kind.Order]: 'ORDER',
  [Kind.Clock]: 'CLOCK',
  [Kind.Timer]: 'TIMER',
  [Kind.RandomSeed]: 'RANDOM_SEED',
  [Kind.External]: 'EXTERNAL',
  [Kind.SourceBarrier]: 'SOURCE_BARRIER',
  [Kind.SourcePoll]: 'SOURCE_POLL',
  [Kind.AbortCheckpoint]: 'ABORT_CHECKPOINT',
  [Kind.MonotonicClock]: 'MONOTONIC_CLOCK',
};

/**
 * Kinds that a replaying runtime executes itself ("drivers"): deliveries and asynchronous events.
 * The others are answers handed to operator code when it asks (clock, random, external, user kinds).
 */
export function isDriverKind(kind: number): boolean {
  return kind === Kind.Order || kind === Kind.Timer || kind === Kind.SourceBarrier || kind === Kind.SourcePoll || kind === Kind.AbortCheckpoint;
}

/** Encodes and decodes the payload of a user-defined kind. */
export interface KindCodec<T> {
  /** Turns a value into bytes. Called off the hot path of built-in kinds. */
  encode(value: T): Uint8Array;
  /** Turns bytes produced by `encode` back into a value. Must not keep a reference to `bytes`. */
  decode(bytes: Uint8Array): T;
}

/** A registered user kind. */
export interface UserKind<T = unknown> {
  /** Tag id in [{@link USER_KIND_MIN}, {@link USER_KIND_MAX}]. */
  readonly id: number;
  /** Name shown by `log inspect` and in mismatch errors. */
  readonly name: string;
  /** Payload codec. */
  readonly codec: KindCodec<T>;
}

/**
 * The user kinds a log or reader understands. Readers that meet an unregistered user kind still
 * skip it safely (its payload is length-prefixed) and show it as `USER_<id>`.
 */
export class KindRegistry {
  private readonly byId = new Map<number, UserKind<any>>();

  /** Registers a user kind; ids and names must be unique within the registry. */
  register<T>(kind: UserKind<T>): UserKind<T> {
    if (!Number.isInteger(kind.id) || kind.id < USER_KIND_MIN || kind.id > USER_KIND_MAX) {
      throw new InvalidArgumentError('kind.id', `an integer in [${USER_KIND_MIN}, ${USER_KIND_MAX}]`, kind.id);
    }
    if (typeof kind.name !== 'string' || kind.name.length === 0) throw new InvalidArgumentError('kind.name', 'a non-empty string', kind.name);
    if (this.byId.has(kind.id)) throw new InvalidArgumentError('kind.id', 'an id not registered yet', kind.id);
    for (const other of this.byId.values()) {
      if (other.name === kind.name) throw new InvalidArgumentError('kind.name', 'a name not registered yet', kind.name);
    }
    this.byId.set(kind.id, kind);
    return kind;
  }

  /** The user kind with this id, if registered. */
  get(id: number): UserKind<any> | undefined {
    return this.byId.get(id);
  }
}

/** Human-readable name of a kind id (built-in or user), used in errors and by `log inspect`. */
export function kindName(kind: number, registry?: KindRegistry): string {
  if (kind >= COMPACT_ORDER_FLAG) return 'ORDER';
  const builtin = builtinNames[kind];
  if (builtin !== undefined) return builtin;
  if (kind >= USER_KIND_MIN && kind <= USER_KIND_MAX) return registry?.get(kind)?.name ?? `USER_${kind}`;
  return `UNKNOWN_${kind}`;
}
