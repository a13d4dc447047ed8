/**
 * Nexmark queries Q1, Q2, Q3, Q5, Q7, Q8, Q11 and Q12 on the public causalflow API, following the
 * definitions of the Nexmark suite as run by Beam and Flink. Each query takes the event stream and
 * returns its result stream; the caller adds source and sink.
 *
 * Window sizes follow Beam's defaults (10 s windows, 5 s slide for Q5, 10 s session gap for Q11),
 * scaled by `windowMs` when given.
 *
 * One deliberate difference: where Beam and Flink emit every tied winner of a window (Q5's most-bid
 * auctions, Q7's highest bids), these emit one, chosen by a documented total order (lowest auction id;
 * earliest bid, then lowest bidder, then lowest auction), so that the output is deterministic.
 */
import type { DataStream } from '../../lib/api/stream.js';
import { session, sliding, tumbling } from '../../lib/operators/window.js';
import type { Auction, Bid, NexmarkEvent, Person } from './model.js';

/** Options shared by the queries. */
export interface QueryOptions {
  /** Parallelism of the query's operators (default: the job's). */
  parallelism?: number;
  /** Window length in ms (default 10,000). Q5 slides by half of it; Q11's session gap is it. */
  windowMs?: number;
}

/** A Nexmark query. */
export interface NexmarkQuery {
  /** Query id, e.g. `q3`. */
  readonly id: QueryId;
  /** What it computes. */
  readonly description: string;
  /** Whether its output depends only on its input (Q12's processing-time windows do not). */
  readonly deterministic: boolean;
  /** Builds the query on the event stream. */
  build(events: DataStream<NexmarkEvent>, options?: QueryOptions): DataStream<any>;
}

/** Ids of the implemented queries. */
export type QueryId = 'q1' | 'q2' | 'q3' | 'q5' | 'q7' | 'q8' | 'q11' | 'q12';

/** Q1 output: a bid with its price in euros. */
export interface Q1Result {
  auction: number;
  price: number;
  bidder: number;
  dateTime: number;
}

/** Q3 output: a seller in OR, ID or CA with an auction in category 10. */
export interface Q3Result {
  name: string;
  city: string;
  state: string;
  id: number;
}

/** Q5 output: the auction with the most bids in a sliding window. */
export interface Q5Result {
  auction: number;
  count: number;
  windowEnd: number;
}

/** Q7 output: the highest bid of a window. */
export interface Q7Result {
  auction: number;
  price: number;
  bidder: number;
  dateTime: number;
  windowEnd: number;
}

/** Q8 output: a person who registered and opened an auction in the same window. */
export interface Q8Result {
  id: number;
  name: string;
  windowStart: number;
}

/** Q11 / Q12 output: bids of one bidder in one window. */
export interface BidCount {
  bidder: number;
  count: number;
  windowEnd: number;
}

/** Whether an event is a bid. */
export const isBid = (e: NexmarkEvent): e is Bid => e.kind === 'bid';
const isPerson = (e: NexmarkEvent): e is Person => e.kind === 'person';
const isAuction = (e: NexmarkEvent): e is Auction => e.kind === 'auction';

/** Q3: how long a registered person is kept as a potential seller (event time). */
export const PERSON_TTL_MS = 60_000;
/** Q3: how long an auction waits for its seller to register (event time). */
export const AUCTION_WAIT_MS = 10_000;
/** Q8 state of a seller in a window: the name if they registered in it, and whether they sold in it. */
type Q8Window = [name: string | null, sold: boolean];
/** Q3 state of a seller: name, city, state, registration time. */
type StoredSeller = [name: string, city: string, state: string, dateTime: number];
/** Q3 state of an auction waiting for its seller: id and time. */
type WaitingAuction = [id: number, dateTime: number];

const countBids = { create: () => 0, add: (n: number) => n + 1, result: (n: number) => n, merge: (a: number, b: number) => a + b };

/** The queries by id. */
export const QUERIES: Readonly<Record<QueryId, NexmarkQuery>> = {
  q1: {
    id: 'q1',
    description: 'currency conversion: every bid with its price in euros',
    deterministic: true,
    build: (events, o = {}) =>
      events
        .filter(isBid, { name: 'q1-bids', parallelism: o.parallelism })
        .map((b: Bid): Q1Result => ({ auction: b.auction, price: Math.round(b.price * 0.908), bidder: b.bidder, dateTime: b.dateTime }), {
          name: 'q1-euros',
          parallelism: o.parallelism,
        }),
  },
  q2: {
    id: 'q2',
    description: 'selection: bids on every 123rd auction',
    deterministic: true,
    build: (events, o = {}) =>
      events
        .filter((e): e is Bid => e.kind === 'bid' && e.auction % 123 === 0, { name: 'q2-select', parallelism: o.parallelism })
        .map((b: Bid) => ({ auction: b.auction, price: b.price }), { name: 'q2-project', parallelism: o.parallelism }),
  },
  q3: {
    id: 'q3',
    description: 'local item suggestion: sellers in OR, ID or CA joined with their auctions in category 10',
    deterministic: true,
    build: (events, o = {}) => {
      const persons = events.filter((e): e is Person => isPerson(e) && (e.state === 'OR' || e.state === 'ID' || e.state === 'CA'), {
        name: 'q3-persons',
        parallelism: o.parallelism,
      });
      const auctions = events.filter((e): e is Auction => isAuction(e) && e.category === 10, { name: 'q3-auctions', parallelism: o.parallelism });
      // State stays bounded, as in Beam's Q3: a person is kept for PERSON_TTL_MS of event time after
      // registering (sellers are recently registered people), and an auction waits for its seller for
      // AUCTION_WAIT_MS at most (a seller id is at most a few people ahead of the latest one).
      return persons
        .connect(auctions)
        .keyBy(
          (p) => p.id,
          (a) => a.seller,
        )
        .process<Q3Result>(
          {
            processElement1(person, ctx) {
              const seller: StoredSeller = [person.name, person.city, person.state, person.dateTime];
              ctx.state.value<StoredSeller>('seller').update(seller);
              const waiting = ctx.state.list<WaitingAuction>('waiting');
              for (const [id] of waiting.get()) ctx.emit({ name: person.name, city: person.city, state: person.state, id });
              waiting.clear();
              ctx.timers.registerEventTime(person.dateTime + PERSON_TTL_MS);
            },
            processElement2(auction, ctx) {
              const seller = ctx.state.value<StoredSeller>('seller').value();
              if (seller) {
                ctx.emit({ name: seller[0], city: seller[1], state: seller[2], id: auction.id });
              } else {
                ctx.state.list<WaitingAuction>('waiting').add([auction.id, auction.dateTime]);
                ctx.timers.registerEventTime(auction.dateTime + AUCTION_WAIT_MS);
              }
            },
            onTimer(timestamp, ctx) {
              const seller = ctx.state.value<StoredSeller>('seller');
              const s = seller.value();
              if (s && s[3] + PERSON_TTL_MS <= timestamp) seller.clear();
              const waiting = ctx.state.list<WaitingAuction>('waiting');
              const still = waiting.get().filter(([, at]) => at + AUCTION_WAIT_MS > timestamp);
              if (still.length !== waiting.get().length) waiting.update(still);
            },
          },
          { name: 'q3-join', parallelism: o.parallelism },
        );
    },
  },
  q5: {
    id: 'q5',
    description: 'hot items: the auction with the most bids per sliding window',
    deterministic: true,
    build: (events, o = {}) => {
      const size = o.windowMs ?? 10_000;
      const counts = events
        .filter(isBid, { name: 'q5-bids', parallelism: o.parallelism })
        .keyBy((b) => b.auction)
        .window(sliding(size, size / 2))
        .aggregate(countBids, (auction, window, count): Q5Result => ({ auction, count, windowEnd: window.end }), { name: 'q5-count', parallelism: o.parallelism });
      return counts
        .keyBy((c) => c.windowEnd)
        .window(tumbling(size / 2))
        .process(
          (_end, _window, all: Q5Result[]) => {
            let best = all[0]!;
            for (const c of all) if (c.count > best.count || (c.count === best.count && c.auction < best.auction)) best = c;
            return best;
          },
          { name: 'q5-max', parallelism: o.parallelism },
        );
    },
  },
  q7: {
    id: 'q7',
    description: 'highest bid: the bid with the highest price per tumbling window',
    deterministic: true,
    build: (events, o = {}) => {
      const size = o.windowMs ?? 10_000;
      const highest = (a: Bid, b: Bid): Bid =>
        a.price > b.price ||
        (a.price === b.price &&
          (a.dateTime < b.dateTime || (a.dateTime === b.dateTime && (a.bidder < b.bidder || (a.bidder === b.bidder && a.auction <= b.auction)))))
          ? a
          : b;
      // Two phases: the highest bid per auction bucket, then the highest of those per window.
      const partial = events
        .filter(isBid, { name: 'q7-bids', parallelism: o.parallelism })
        .keyBy((b) => b.auction % 64)
        .window(tumbling(size))
        .reduce(highest, { name: 'q7-partial', parallelism: o.parallelism });
      return partial
        .keyBy((b) => Math.floor(b.dateTime / size))
        .window(tumbling(size))
        .aggregate(
          { create: () => null as Bid | null, add: (acc: Bid | null, b: Bid) => (acc === null ? b : highest(acc, b)), result: (acc: Bid | null) => acc! },
          (_k, window, b): Q7Result => ({ auction: b.auction, price: b.price, bidder: b.bidder, dateTime: b.dateTime, windowEnd: window.end }),
          { name: 'q7-max', parallelism: o.parallelism },
        );
    },
  },
  q8: {
    id: 'q8',
    description: 'monitor new users: people who opened an auction in the window they registered in',
    deterministic: true,
    build: (events, o = {}) => {
      const size = o.windowMs ?? 10_000;
      const persons = events.filter(isPerson, { name: 'q8-persons', parallelism: o.parallelism });
      const auctions = events.filter(isAuction, { name: 'q8-auctions', parallelism: o.parallelism });
      return persons
        .connect(auctions)
        .keyBy(
          (p) => p.id,
          (a) => a.seller,
        )
        .process<Q8Result>(
          {
            // Per seller and window: the person's name if they registered in it, and whether they sold in it.
            processElement1(person, ctx) {
              const start = person.dateTime - (person.dateTime % size);
              const windows = ctx.state.map<number, Q8Window>('windows');
              const seen = windows.get(start);
              windows.put(start, [person.name, seen ? seen[1] : false]);
              if (!seen) ctx.timers.registerEventTime(start + size - 1);
            },
            processElement2(auction, ctx) {
              const start = auction.dateTime - (auction.dateTime % size);
              const windows = ctx.state.map<number, Q8Window>('windows');
              const seen = windows.get(start);
              if (seen?.[1]) return;
              windows.put(start, [seen ? seen[0] : null, true]);
              if (!seen) ctx.timers.registerEventTime(start + size - 1);
            },
            onTimer(timestamp, ctx) {
              const start = timestamp + 1 - size;
              const windows = ctx.state.map<number, Q8Window>('windows');
              const seen = windows.get(start);
              windows.remove(start);
              if (seen && seen[0] !== null && seen[1]) ctx.emit({ id: ctx.key as number, name: seen[0], windowStart: start });
            },
          },
          { name: 'q8-join', parallelism: o.parallelism },
        );
    },
  },
  q11: {
    id: 'q11',
    description: 'user sessions: bids per bidder per session (10 s gap)',
    deterministic: true,
    build: (events, o = {}) =>
      events
        .filter(isBid, { name: 'q11-bids', parallelism: o.parallelism })
        .keyBy((b) => b.bidder)
        .window(session(o.windowMs ?? 10_000))
        .aggregate(countBids, (bidder, window, count): BidCount => ({ bidder, count, windowEnd: window.end }), { name: 'q11-sessions', parallelism: o.parallelism }),
  },
  q12: {
    id: 'q12',
    description: 'processing-time windows: bids per bidder per 10 s of wall-clock time',
    deterministic: false,
    build: (events, o = {}) =>
      events
        .filter(isBid, { name: 'q12-bids', parallelism: o.parallelism })
        .keyBy((b) => b.bidder)
        .window(tumbling(o.windowMs ?? 10_000, { time: 'processing' }))
        .aggregate(countBids, (bidder, window, count): BidCount => ({ bidder, count, windowEnd: window.end }), { name: 'q12-windows', parallelism: o.parallelism }),
  },
};

/** Ids of every query, in order. */
export const QUERY_IDS = Object.keys(QUERIES) as QueryId[];
