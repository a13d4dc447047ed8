/**
 * The Nexmark event generator: event number n ↦ one event, deterministically, in any order.
 *
 * It follows the logic of Apache Beam's Nexmark generator (`sources/generator` in Beam; channel and url
 * as in the Flink Nexmark suite): the kind of event n comes from n modulo the proportions, ids come from
 * n, and the rest is drawn at random, with hot auctions, hot sellers and hot bidders, a window of active
 * people and in-flight auctions, and ids a little ahead of the last one created. Beam seeds a
 * `java.util.Random` with the event id; here the draws of event n come from a counter-based generator
 * keyed by (seed, n), so event n is the same whichever events were generated before it.
 *
 * Deliberate differences from Beam, for speed (the generator must not be the bottleneck of a benchmark):
 * - Random strings (item names, descriptions, e-mail addresses, credit cards, urls) are drawn from pools
 *   built once per generator from the seed, instead of being built per event.
 * - `extra` is not padding up to an average byte size: it is empty, or a pooled string of a fixed length.
 * - Event time is `baseTime + floor(n * 1000 / eventRate)` ms: one constant rate, no rate shapes and no
 *   out-of-order groups.
 *
 * Cost: one object per event and no other allocation, except the first time one of the 10,000 cold
 * channels is drawn (its name and url are then built and kept).
 */
import { ConfigError, InvalidArgumentError } from '../../lib/errors.js';
import { SeededRandom } from '../../lib/util/random.js';
import {
  FIRST_AUCTION_ID,
  FIRST_CATEGORY_ID,
  FIRST_PERSON_ID,
  type Auction,
  type Bid,
  type NexmarkEvent,
  type Person,
} from './model.js';

/** What events the generator makes. Every field has a default (see {@link DEFAULT_NEXMARK_CONFIG}). */
export interface NexmarkConfig {
  /** Seed of every random field. Default 0. */
  seed: number;
  /** Events per second of event time: event n happens `n * 1000 / eventRate` ms after `baseTime`. Default 10,000 (Beam's). */
  eventRate: number;
  /** Event time of event 0, ms. Default 0, so that event-time windows align with event numbers. */
  baseTime: number;
  /** People per `personProportion + auctionProportion + bidProportion` events. At least 1. Default 1. */
  personProportion: number;
  /** Auctions per cycle of events. At least 1. Default 3. */
  auctionProportion: number;
  /** Bids per cycle of events. Default 46. */
  bidProportion: number;
  /** Id of the first person. Default {@link FIRST_PERSON_ID}. */
  firstPersonId: number;
  /** Id of the first auction. Default {@link FIRST_AUCTION_ID}. */
  firstAuctionId: number;
  /** Id of the first category. Default {@link FIRST_CATEGORY_ID}. */
  firstCategoryId: number;
  /** Number of categories (Beam keeps it small so that queries find matches). Default 5. */
  numCategories: number;
  /** A bid is on a hot auction with probability 1 − 1/hotAuctionRatio. Default 2. */
  hotAuctionRatio: number;
  /** An auction is by a hot seller with probability 1 − 1/hotSellersRatio. Default 4. */
  hotSellersRatio: number;
  /** A bid is by a hot bidder with probability 1 − 1/hotBiddersRatio. Default 4. */
  hotBiddersRatio: number;
  /** Cold sellers and bidders are drawn among the last `numActivePeople` people. Default 1,000. */
  numActivePeople: number;
  /** Cold bids are on one of the last `numInFlightAuctions` auctions; it also sets auction lengths. Default 100. */
  numInFlightAuctions: number;
  /** How many not-yet-created people a cold seller or bidder may be (Beam's PERSON_ID_LEAD). Default 10. */
  personIdLead: number;
  /** How many not-yet-created auctions a cold bid may be on (Beam's AUCTION_ID_LEAD). Default 10. */
  auctionIdLead: number;
  /** Length of every `extra` field, in characters. Default 0 (empty). */
  extraLength: number;
  /** Number of events; event numbers run from 0 to `maxEvents − 1`. Default `Infinity` (unbounded). */
  maxEvents: number;
}

/** The defaults of every {@link NexmarkConfig} field (Beam's defaults where Beam has one). */
export const DEFAULT_NEXMARK_CONFIG: Readonly<NexmarkConfig> = Object.freeze({
  seed: 0,
  eventRate: 10_000,
  baseTime: 0,
  personProportion: 1,
  auctionProportion: 3,
  bidProportion: 46,
  firstPersonId: FIRST_PERSON_ID,
  firstAuctionId: FIRST_AUCTION_ID,
  firstCategoryId: FIRST_CATEGORY_ID,
  numCategories: 5,
  hotAuctionRatio: 2,
  hotSellersRatio: 4,
  hotBiddersRatio: 4,
  numActivePeople: 1000,
  numInFlightAuctions: 100,
  personIdLead: 10,
  auctionIdLead: 10,
  extraLength: 0,
  maxEvents: Infinity,
});

/**
 * Hot auctions, sellers and bidders are the first (bidders: the second) of the latest batch of this
 * many ids, so each stays hot for a while (Beam's HOT_AUCTION_RATIO, HOT_SELLER_RATIO, HOT_BIDDER_RATIO).
 */
export const HOT_ID_BATCH = 100;

/** Number of cold channels a bid may come from (`channel-0` … `channel-9999`), as in Flink's Nexmark. */
export const COLD_CHANNELS = 10_000;

/** The channels half of all bids come from, as in Flink's Nexmark. */
export const HOT_CHANNELS: readonly string[] = Object.freeze(['Google', 'Facebook', 'Baidu', 'Apple']);

const US_STATES = ['AZ', 'CA', 'ID', 'OR', 'WA', 'WY'];
const US_CITIES = ['Phoenix', 'Los Angeles', 'San Francisco', 'Boise', 'Portland', 'Bend', 'Redmond', 'Seattle', 'Kent', 'Cheyenne'];
const FIRST_NAMES = ['Peter', 'Paul', 'Luke', 'John', 'Saul', 'Vicky', 'Kate', 'Julie', 'Sarah', 'Deiter', 'Walter'];
const LAST_NAMES = ['Shultz', 'Abrams', 'Spencer', 'White', 'Bartels', 'Walton', 'Smith', 'Jones', 'Noris'];

/** Size of each pool of random strings; a power of two so that a draw is a mask. */
const POOL_SIZE = 1024;
const POOL_MASK = POOL_SIZE - 1;
/** Distinct `extra` strings when `extraLength` > 0. */
const EXTRA_POOL_SIZE = 64;
const TWO_POW_32 = 4294967296;
/** Below this bound, `u32 * bound` is exact in a double, so one 32-bit draw gives an unbiased floor. */
const SMALL_BOUND = 0x100000;

/** 10^(6·x / 2^k) for the top 10, middle 11 and low 11 bits of a 32-bit x; their product is 10^(6·x / 2^32). */
const POWER_HIGH = powerTable(1024, 10);
const POWER_MIDDLE = powerTable(2048, 21);
const POWER_LOW = powerTable(2048, 32);

function powerTable(size: number, shift: number): Float64Array {
  const table = new Float64Array(size);
  for (let i = 0; i < size; i++) table[i] = Math.pow(10, (6 * i) / 2 ** shift);
  return table;
}

/** Tags that give each string pool its own PRNG stream. */
const enum PoolTag {
  ItemName = 1,
  Description,
  Email,
  CreditCard,
  Extra,
  HotUrl,
  ColdChannel,
}

/** murmur3's 32-bit finaliser: a bijective mix, good enough to key a per-event stream. */
function mix32(x: number): number {
  x = Math.imul(x ^ (x >>> 16), 0x85ebca6b);
  x = Math.imul(x ^ (x >>> 13), 0xc2b2ae35);
  return x ^ (x >>> 16);
}

/** A 32-bit key of a safe integer (a seed or an event number) and a salt. */
function key32(value: number, salt: number): number {
  const high = Math.floor(value / TWO_POW_32);
  return mix32((value >>> 0) ^ mix32(high ^ mix32(salt)));
}

/** Java's `Integer.reverse` (bit reversal of a 32-bit integer), as Flink uses it for channel ids. */
function reverseBits32(x: number): number {
  x = ((x >>> 1) & 0x55555555) | ((x & 0x55555555) << 1);
  x = ((x >>> 2) & 0x33333333) | ((x & 0x33333333) << 2);
  x = ((x >>> 4) & 0x0f0f0f0f) | ((x & 0x0f0f0f0f) << 4);
  x = ((x >>> 8) & 0x00ff00ff) | ((x & 0x00ff00ff) << 8);
  return (x >>> 16) | (x << 16);
}

/** Beam's `nextString`: 3 to maxLength − 1 lowercase letters, about one in 13 replaced by `space`. */
function randomString(random: SeededRandom, maxLength: number, space: string): string {
  const length = 3 + random.nextInt(maxLength - 3);
  let text = '';
  for (let i = 0; i < length; i++) {
    text += random.nextInt(13) === 0 ? space : String.fromCharCode(97 + random.nextInt(26));
  }
  return space === ' ' ? text.trim() : text;
}

/** Beam's `nextExactString`: exactly `length` lowercase letters. */
function exactString(random: SeededRandom, length: number): string {
  let text = '';
  for (let i = 0; i < length; i++) text += String.fromCharCode(97 + random.nextInt(26));
  return text;
}

/** Flink's bid url: a random path on www.nexmark.com. */
function randomUrl(random: SeededRandom): string {
  const path = [randomString(random, 5, '_'), randomString(random, 5, '_'), randomString(random, 5, '_')];
  return `https://www.nexmark.com/${path.join('/')}/item.htm?query=1`;
}

function pool(size: number, seed: number, tag: PoolTag, make: (random: SeededRandom) => string): string[] {
  const random = new SeededRandom(key32(seed, tag));
  const strings = new Array<string>(size);
  for (let i = 0; i < size; i++) strings[i] = make(random);
  return strings;
}

function creditCard(random: SeededRandom): string {
  const groups: string[] = [];
  for (let i = 0; i < 4; i++) groups.push(String(random.nextInt(10000)).padStart(4, '0'));
  return groups.join(' ');
}

function checkConfig(config: NexmarkConfig): void {
  const integer = (field: keyof NexmarkConfig, min: number): void => {
    const value = config[field];
    if (!Number.isSafeInteger(value) || value < min) throw new ConfigError(`nexmark.${field}`, `an integer ≥ ${min}`, value);
  };
  if (!Number.isSafeInteger(config.seed)) throw new ConfigError('nexmark.seed', 'a safe integer', config.seed);
  if (!(config.eventRate > 0 && Number.isFinite(config.eventRate))) {
    throw new ConfigError('nexmark.eventRate', 'a finite number of events per second > 0', config.eventRate);
  }
  if (!Number.isFinite(config.baseTime)) throw new ConfigError('nexmark.baseTime', 'a finite time in ms', config.baseTime);
  // Ids are derived from the person and auction counts of the cycle, so neither may be empty.
  integer('personProportion', 1);
  integer('auctionProportion', 1);
  integer('bidProportion', 0);
  integer('firstPersonId', 0);
  integer('firstAuctionId', 0);
  integer('firstCategoryId', 0);
  integer('numCategories', 1);
  integer('hotAuctionRatio', 1);
  integer('hotSellersRatio', 1);
  integer('hotBiddersRatio', 1);
  integer('numActivePeople', 1);
  integer('numInFlightAuctions', 0);
  integer('personIdLead', 0);
  integer('auctionIdLead', 0);
  integer('extraLength', 0);
  if (config.maxEvents !== Infinity) integer('maxEvents', 0);
}

/**
 * Generates Nexmark events by event number. Event n is a pure function of the config and n; the
 * generator holds only string pools and scratch PRNG state, so it is cheap to keep one per reader, and
 * safe to share between readers on one thread.
 */
export class NexmarkGenerator {
  /** The config in force, defaults filled in. */
  readonly config: Readonly<NexmarkConfig>;
  /** Events per cycle: personProportion + auctionProportion + bidProportion. */
  readonly cycle: number;

  // Config fields read per event, copied out of the frozen config to keep the hot path to plain loads.
  private readonly people: number;
  private readonly auctions: number;
  private readonly baseTime: number;
  private readonly eventRate: number;
  private readonly firstPersonId: number;
  private readonly firstAuctionId: number;
  private readonly firstCategoryId: number;
  private readonly numCategories: number;
  private readonly hotAuctionRatio: number;
  private readonly hotSellersRatio: number;
  private readonly hotBiddersRatio: number;
  private readonly numActivePeople: number;
  private readonly numInFlightAuctions: number;
  private readonly personIdLead: number;
  private readonly auctionIdLead: number;
  /** Events until `numInFlightAuctions` more auctions have opened; sets the mean auction length. */
  private readonly eventsPerInFlightAuctions: number;

  private readonly seedKey: number;
  /** Scratch state of the current event's stream of draws; set by `begin(n)`. */
  private state = 0;

  private readonly personNames: string[];
  private readonly itemNames: string[];
  private readonly descriptions: string[];
  private readonly emails: string[];
  private readonly creditCards: string[];
  private readonly extras: string[];
  private readonly extraMask: number;
  /**
   * Every channel's name and url: cold channel k at k (built the first time it is drawn), hot channel h at
   * `COLD_CHANNELS + h`. One table for both, so that a bid picks its channel by index without a branch on
   * a coin flip (which the CPU mispredicts half the time).
   */
  private readonly channelNames: (string | undefined)[] = new Array<string | undefined>(COLD_CHANNELS + HOT_CHANNELS.length).fill(undefined);
  private readonly channelUrls: string[] = new Array<string>(COLD_CHANNELS + HOT_CHANNELS.length).fill('');

  constructor(config: Partial<NexmarkConfig> = {}) {
    const full: NexmarkConfig = { ...DEFAULT_NEXMARK_CONFIG };
    // Ignore explicit undefineds, so that `{ seed: options.seed }` keeps the default.
    for (const [field, value] of Object.entries(config)) {
      // A misspelt field would otherwise be ignored without a word.
      if (!Object.hasOwn(DEFAULT_NEXMARK_CONFIG, field)) throw new ConfigError(`nexmark.${field}`, 'no such setting', value);
      if (value !== undefined) (full as unknown as Record<string, unknown>)[field] = value;
    }
    checkConfig(full);
    this.config = Object.freeze(full);
    this.cycle = full.personProportion + full.auctionProportion + full.bidProportion;
    this.people = full.personProportion;
    this.auctions = full.auctionProportion;
    this.baseTime = full.baseTime;
    this.eventRate = full.eventRate;
    this.firstPersonId = full.firstPersonId;
    this.firstAuctionId = full.firstAuctionId;
    this.firstCategoryId = full.firstCategoryId;
    this.numCategories = full.numCategories;
    this.hotAuctionRatio = full.hotAuctionRatio;
    this.hotSellersRatio = full.hotSellersRatio;
    this.hotBiddersRatio = full.hotBiddersRatio;
    this.numActivePeople = full.numActivePeople;
    this.numInFlightAuctions = full.numInFlightAuctions;
    this.personIdLead = full.personIdLead;
    this.auctionIdLead = full.auctionIdLead;
    this.eventsPerInFlightAuctions = Math.floor((full.numInFlightAuctions * this.cycle) / full.auctionProportion);
    this.seedKey = key32(full.seed, 0x4e58);

    const seed = full.seed;
    this.personNames = FIRST_NAMES.flatMap((first) => LAST_NAMES.map((last) => `${first} ${last}`));
    this.itemNames = pool(POOL_SIZE, seed, PoolTag.ItemName, (random) => randomString(random, 20, ' '));
    this.descriptions = pool(POOL_SIZE, seed, PoolTag.Description, (random) => randomString(random, 100, ' '));
    this.emails = pool(POOL_SIZE, seed, PoolTag.Email, (random) => `${randomString(random, 7, ' ')}@${randomString(random, 5, ' ')}.com`);
    this.creditCards = pool(POOL_SIZE, seed, PoolTag.CreditCard, creditCard);
    this.extras = full.extraLength === 0 ? [''] : pool(EXTRA_POOL_SIZE, seed, PoolTag.Extra, (random) => exactString(random, full.extraLength));
    this.extraMask = this.extras.length - 1;
    const hotUrls = pool(HOT_CHANNELS.length, seed, PoolTag.HotUrl, randomUrl);
    for (let h = 0; h < HOT_CHANNELS.length; h++) {
      this.channelNames[COLD_CHANNELS + h] = HOT_CHANNELS[h]!;
      this.channelUrls[COLD_CHANNELS + h] = hotUrls[h]!;
    }
  }

  /** Event number `n` (0 ≤ n < maxEvents). */
  event(n: number): NexmarkEvent {
    this.checkRange(n, 1, 1);
    return this.generate(n);
  }

  /**
   * Generates events `firstEvent`, `firstEvent + stride`, … (`count` of them) into `records[at…]`, and
   * their event times into `timestamps[at…]`. This is what a partition reader calls.
   */
  fill(firstEvent: number, count: number, stride: number, records: unknown[], timestamps: Float64Array, at: number): void {
    if (count <= 0) return;
    this.checkRange(firstEvent, count, stride);
    // The cycle position advances by the stride: one division for the batch instead of one per event.
    const cycle = this.cycle;
    let epoch = Math.floor(firstEvent / cycle);
    let offset = firstEvent - epoch * cycle;
    const epochStep = Math.floor(stride / cycle);
    const offsetStep = stride - epochStep * cycle;
    for (let i = 0; i < count; i++) {
      const event = this.generateAt(firstEvent + i * stride, epoch, offset);
      records[at + i] = event;
      timestamps[at + i] = event.dateTime;
      epoch += epochStep;
      offset += offsetStep;
      if (offset >= cycle) {
        offset -= cycle;
        epoch++;
      }
    }
  }

  /** Which kind event `n` is, without generating it. */
  kindOf(n: number): NexmarkEvent['kind'] {
    const offset = n % this.cycle;
    if (offset < this.people) return 'person';
    return offset < this.people + this.auctions ? 'auction' : 'bid';
  }

  /** Event time of event `n`, ms. */
  eventTime(n: number): number {
    return this.baseTime + Math.floor((n * 1000) / this.eventRate);
  }

  /** Id of the latest person created at or before event `n` (event n's own id if it is a person). */
  lastPersonId(n: number): number {
    const epoch = Math.floor(n / this.cycle);
    return this.lastBase0PersonId(epoch, n - epoch * this.cycle) + this.firstPersonId;
  }

  /** Id of the latest auction created at or before event `n`; `firstAuctionId − 1` before the first one. */
  lastAuctionId(n: number): number {
    const epoch = Math.floor(n / this.cycle);
    return this.lastBase0AuctionId(epoch, n - epoch * this.cycle) + this.firstAuctionId;
  }

  private checkRange(first: number, count: number, stride: number): void {
    const last = first + (count - 1) * stride;
    const expected = `an integer in [0, ${this.config.maxEvents})`;
    if (!Number.isSafeInteger(first) || first < 0) throw new InvalidArgumentError('event number', expected, first);
    if (!Number.isSafeInteger(last) || last < first || last >= this.config.maxEvents) {
      throw new InvalidArgumentError('last event number', expected, last);
    }
  }

  private generate(n: number): NexmarkEvent {
    // Beam's "epoch": which cycle of personProportion + auctionProportion + bidProportion events n is in.
    const epoch = Math.floor(n / this.cycle);
    return this.generateAt(n, epoch, n - epoch * this.cycle);
  }

  /** Event `n`, which is event `offset` of cycle `epoch`. */
  private generateAt(n: number, epoch: number, offset: number): NexmarkEvent {
    this.begin(n);
    const time = this.eventTime(n);
    const lastPerson = this.lastBase0PersonId(epoch, offset);
    if (offset < this.people) return this.person(time, lastPerson);
    const lastAuction = this.lastBase0AuctionId(epoch, offset);
    if (offset < this.people + this.auctions) return this.auction(n, time, lastPerson, lastAuction);
    return this.bid(time, lastPerson, lastAuction);
  }

  private person(time: number, id: number): Person {
    return {
      kind: 'person',
      id: id + this.firstPersonId,
      name: this.personNames[this.below(this.personNames.length)]!,
      emailAddress: this.emails[this.next32() & POOL_MASK]!,
      creditCard: this.creditCards[this.next32() & POOL_MASK]!,
      city: US_CITIES[this.below(US_CITIES.length)]!,
      state: US_STATES[this.below(US_STATES.length)]!,
      dateTime: time,
      extra: this.extras[this.next32() & this.extraMask]!,
    };
  }

  private auction(n: number, time: number, lastPerson: number, id: number): Auction {
    const seller =
      this.below(this.hotSellersRatio) > 0 ? Math.floor(lastPerson / HOT_ID_BATCH) * HOT_ID_BATCH : this.nextBase0PersonId(lastPerson);
    const category = this.firstCategoryId + this.below(this.numCategories);
    const initialBid = this.price();
    // Beam: a length averaging the time until numInFlightAuctions more auctions have opened.
    const horizon = this.eventTime(n + this.eventsPerInFlightAuctions) - time;
    const expires = time + 1 + this.below(Math.max(horizon * 2, 1));
    return {
      kind: 'auction',
      id: id + this.firstAuctionId,
      itemName: this.itemNames[this.next32() & POOL_MASK]!,
      description: this.descriptions[this.next32() & POOL_MASK]!,
      initialBid,
      reserve: initialBid + this.price(),
      dateTime: time,
      expires,
      seller: seller + this.firstPersonId,
      category,
      extra: this.extras[this.next32() & this.extraMask]!,
    };
  }

  private bid(time: number, lastPerson: number, lastAuction: number): Bid {
    const auction =
      this.below(this.hotAuctionRatio) > 0
        ? Math.floor(lastAuction / HOT_ID_BATCH) * HOT_ID_BATCH
        : this.nextBase0AuctionId(lastAuction);
    // Hot bidders are the second person of the batch, so that they are not also the hot seller.
    const bidder =
      this.below(this.hotBiddersRatio) > 0
        ? Math.floor(lastPerson / HOT_ID_BATCH) * HOT_ID_BATCH + 1
        : this.nextBase0PersonId(lastPerson);
    const price = this.price();
    // Half hot, half cold: the coin is below(2) > 0, i.e. the top bit of its draw; the next draw then picks
    // below(HOT_CHANNELS.length) or below(COLD_CHANNELS), both computed as `below` does, and the coin selects.
    const coin = this.next32() >>> 31;
    const pick = this.next32();
    const cold = Math.floor((pick * COLD_CHANNELS) / TWO_POW_32);
    const hot = COLD_CHANNELS + Math.floor((pick * HOT_CHANNELS.length) / TWO_POW_32);
    const index = cold + coin * (hot - cold);
    const channel = this.channelNames[index] ?? this.buildColdChannel(index);
    const url = this.channelUrls[index]!;
    return {
      kind: 'bid',
      auction: auction + this.firstAuctionId,
      bidder: bidder + this.firstPersonId,
      price,
      channel,
      url,
      dateTime: time,
      extra: this.extras[this.next32() & this.extraMask]!,
    };
  }

  /** Builds and keeps cold channel `k`'s name and url (from the seed and k only); returns the name. */
  private buildColdChannel(k: number): string {
    const random = new SeededRandom(key32(this.config.seed, PoolTag.ColdChannel ^ Math.imul(k + 1, 0x9e3779b9)));
    let url = randomUrl(random);
    // Flink: nine channels in ten say who they are in the url.
    if (random.nextInt(10) > 0) url += `&channel_id=${Math.abs(reverseBits32(k))}`;
    const name = `channel-${k}`;
    this.channelNames[k] = name;
    this.channelUrls[k] = url;
    return name;
  }

  /** Beam's `lastBase0PersonId`: the latest person id (from 0) created at or before event `offset` of cycle `epoch`. */
  private lastBase0PersonId(epoch: number, offset: number): number {
    return epoch * this.people + (offset >= this.people ? this.people - 1 : offset);
  }

  /** Beam's `lastBase0AuctionId`: the latest auction id (from 0) created at or before that event; −1 before any. */
  private lastBase0AuctionId(epoch: number, offset: number): number {
    if (offset < this.people) return epoch * this.auctions - 1; // a person: the previous cycle's last auction
    if (offset >= this.people + this.auctions) return epoch * this.auctions + this.auctions - 1;
    return epoch * this.auctions + offset - this.people;
  }

  /** Beam's `nextBase0PersonId`: one of the active people, or up to `personIdLead` people not yet created. */
  private nextBase0PersonId(lastPerson: number): number {
    const people = lastPerson + 1;
    const active = Math.min(people, this.numActivePeople);
    return people - active + this.below(active + this.personIdLead);
  }

  /** Beam's `nextBase0AuctionId`: one of the in-flight auctions, or up to `auctionIdLead` not yet created. */
  private nextBase0AuctionId(lastAuction: number): number {
    const first = Math.max(lastAuction - this.numInFlightAuctions, 0);
    return first + this.below(lastAuction - first + 1 + this.auctionIdLead);
  }

  /**
   * Beam's price, `round(10^(6u) · 100)` for a uniform u: log-uniform between $1 and $1,000,000, in
   * cents. 10^(6u) is a product of three table entries, one per 10-11 bits of u, because `Math.pow`
   * alone took a third of the generator's time.
   */
  private price(): number {
    const u = this.next32();
    return Math.round(POWER_HIGH[u >>> 22]! * POWER_MIDDLE[(u >>> 11) & 0x7ff]! * POWER_LOW[u & 0x7ff]! * 100);
  }

  /** Starts event n's stream of draws. */
  private begin(n: number): void {
    this.state = (n >>> 0) ^ this.seedKey ^ (n >= TWO_POW_32 ? mix32(Math.floor(n / TWO_POW_32)) : 0);
    this.state = mix32(this.state);
  }

  /** Next 32-bit draw of the current event's stream (splitmix-style: a Weyl step, then a mix). */
  private next32(): number {
    const state = (this.state + 0x9e3779b9) | 0;
    this.state = state;
    return mix32(state) >>> 0;
  }

  /** Uniform integer in [0, bound), for an integer bound ≥ 1. */
  private below(bound: number): number {
    if (bound <= SMALL_BOUND) return Math.floor((this.next32() * bound) / TWO_POW_32);
    const fraction = (this.next32() * 2097152 + (this.next32() >>> 11)) / 9007199254740992;
    return Math.min(Math.floor(fraction * bound), bound - 1);
  }
}
