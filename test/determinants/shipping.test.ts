import test from 'ava';
import fc from 'fast-check';
import {
  DeltaShipper,
  DeterminantLog,
  LogDivergenceError,
  LogGapError,
  ReplicaStore,
  decodeEnvelope,
  encodeEnvelope,
  longestCopy,
} from '../../determinants/index.js';
import { SeededRandom } from '../../lib/util/random.js';
import { appendDeterminant, epochsArb } from '../helpers/determinants.js';
import { checkProperty } from '../helpers/property.js';

/**
 * A small task graph with two paths from the producer P to B:
 *
 *   P(1) ─┬─> A1(2) ─┐
 *         └─> A2(3) ─┴─> B(4) ──> C(5)
 *
 * Every task has its own log; every edge is a FIFO queue of envelopes.
 */
const EDGES: [number, number][] = [
  [1, 2],
  [1, 3],
  [2, 4],
  [3, 4],
  [4, 5],
];
const TASKS = [1, 2, 3, 4, 5];

/** Fewest hops from `from` to `to`, or Infinity. */
function distance(from: number, to: number): number {
  if (from === to) return 0;
  let best = Infinity;
  for (const [a, b] of EDGES) if (a === from) best = Math.min(best, 1 + distance(b, to));
  return best;
}

interface Node {
  log: DeterminantLog;
  replicas: ReplicaStore;
  shipper: DeltaShipper;
  consumers: Map<number, number>;
}

function simulate(dsd: number, seed: number, steps: number, truncateEvery: number): { nodes: Map<number, Node> } {
  const random = new SeededRandom(seed);
  const nodes = new Map<number, Node>();
  for (const id of TASKS) {
    const log = new DeterminantLog({ taskId: id, initialCapacity: 16 });
    const replicas = new ReplicaStore({ dsd, ignoreTaskIds: [id] });
    const shipper = new DeltaShipper({ log, replicas, dsd });
    nodes.set(id, { log, replicas, shipper, consumers: new Map() });
  }
  for (const [from, to] of EDGES) nodes.get(from)!.consumers.set(to, nodes.get(from)!.shipper.addConsumer());
  const queues = new Map<string, Uint8Array[]>(EDGES.map(([a, b]) => [`${a}>${b}`, []]));
  const delivered = new Map<string, Uint8Array[]>(EDGES.map(([a, b]) => [`${a}>${b}`, []]));
  let epoch = 0;
  const ship = (from: number): void => {
    const node = nodes.get(from)!;
    for (const [to, consumer] of node.consumers) {
      const envelope = node.shipper.delta(consumer);
      if (envelope) queues.get(`${from}>${to}`)!.push(envelope);
    }
  };
  const deliver = (key: string): void => {
    const queue = queues.get(key)!;
    const envelope = queue.shift();
    if (!envelope) return;
    nodes.get(Number(key.split('>')[1]))!.replicas.ingest(envelope);
    delivered.get(key)!.push(envelope);
  };
  for (let step = 0; step < steps; step++) {
    const action = random.nextInt(10);
    const task = TASKS[random.nextInt(TASKS.length)]!;
    if (action < 4) {
      const log = nodes.get(task)!.log;
      if (random.nextInt(2) === 0) log.order(random.nextInt(3), 1 + random.nextInt(300));
      else log.clock(1_000_000 + step);
    } else if (action < 6) {
      ship(task);
    } else if (action < 9) {
      // Deliver on a random edge: paths progress at different speeds, so arrivals interleave.
      const [a, b] = EDGES[random.nextInt(EDGES.length)]!;
      deliver(`${a}>${b}`);
    } else {
      // Duplicate: an envelope already delivered on some path arrives again.
      const [a, b] = EDGES[random.nextInt(EDGES.length)]!;
      const past = delivered.get(`${a}>${b}`)!;
      if (past.length > 0) nodes.get(b)!.replicas.ingest(past[random.nextInt(past.length)]!);
    }
    if (truncateEvery > 0 && step % truncateEvery === truncateEvery - 1) {
      // Checkpoint `epoch + 1` is taken everywhere, then completes everywhere.
      epoch++;
      for (const node of nodes.values()) node.log.startEpoch(epoch);
      for (const node of nodes.values()) {
        node.log.truncateBefore(epoch);
        node.replicas.truncateBefore(epoch);
      }
    }
  }
  // Drain: ship and deliver in topological order until every queue is empty.
  for (let round = 0; round < 4; round++) {
    for (const id of TASKS) ship(id);
    for (const [a, b] of EDGES) while (queues.get(`${a}>${b}`)!.length > 0) deliver(`${a}>${b}`);
  }
  return { nodes };
}

function heldBytes(view: { epochs: readonly { epoch: number }[]; bytesOf(e: any): Uint8Array }): string {
  return JSON.stringify(view.epochs.map((e) => [e.epoch, Array.from(view.bytesOf(e))]));
}

for (const dsd of [0, 1, 2, -1]) {
  test(`deltas cut anywhere, delivered by several paths with duplicates, rebuild each log exactly within dsd ${dsd} and nowhere beyond`, (t) => {
    checkProperty(
      t,
      fc.property(fc.nat(), fc.integer({ min: 20, max: 400 }), fc.constantFrom(0, 37, 150), (seed, steps, truncateEvery) => {
        const { nodes } = simulate(dsd, seed, steps, truncateEvery);
        for (const owner of TASKS) {
          const original = heldBytes(nodes.get(owner)!.log);
          for (const holder of TASKS) {
            if (holder === owner) continue;
            const hops = distance(owner, holder);
            const replica = nodes.get(holder)!.replicas.replicaOf(owner);
            const withinReach = hops !== Infinity && (dsd === -1 || hops <= dsd);
            if (!withinReach) {
              if (replica !== undefined) throw new Error(`task ${holder} holds a copy of task ${owner}'s log, ${hops} hops away`);
              continue;
            }
            // Epochs with no bytes are never shipped; compare the epochs that hold bytes.
            const expected = JSON.stringify(
              (JSON.parse(original) as [number, number[]][]).filter(([, bytes]) => bytes.length > 0),
            );
            const got = replica ? heldBytes(replica) : '[]';
            if (got !== expected) throw new Error(`task ${holder}'s copy of task ${owner}'s log: expected ${expected}, got ${got}`);
            if (replica && replica.hops !== hops) throw new Error(`task ${holder}'s copy of task ${owner}: hops ${replica.hops}, expected ${hops}`);
          }
        }
        return true;
      }),
      150,
    );
  });
}

test('the same envelope ingested twice changes nothing the second time', (t) => {
  const log = new DeterminantLog({ taskId: 9 });
  const shipper = new DeltaShipper({ log, dsd: 1 });
  const consumer = shipper.addConsumer();
  log.order(0, 3);
  log.clock(123);
  const envelope = shipper.delta(consumer)!;
  const store = new ReplicaStore({ dsd: 1 });
  store.ingest(envelope);
  const once = store.logOf(9, 0);
  store.ingest(envelope);
  t.deepEqual(store.logOf(9, 0), once);
  t.is(store.memoryBytes, log.currentLength);
});

test('I4: a copy that disagrees with bytes already held is reported as divergence', (t) => {
  const store = new ReplicaStore({ dsd: 1 });
  store.ingest(encodeEnvelope([{ taskId: 1, epoch: 0, offset: 0, hops: 1, bytes: new Uint8Array([0x81, 0x82]) }]));
  const error = t.throws(() => store.ingest(encodeEnvelope([{ taskId: 1, epoch: 0, offset: 1, hops: 1, bytes: new Uint8Array([0x83, 0x84]) }])), {
    instanceOf: LogDivergenceError,
  });
  t.is(error?.context.offset, 1);
});

test('a slice that starts past the bytes held is a gap, not a silent hole', (t) => {
  const store = new ReplicaStore({ dsd: 1 });
  t.throws(() => store.ingest(encodeEnvelope([{ taskId: 1, epoch: 0, offset: 5, hops: 1, bytes: new Uint8Array([0x81]) }])), { instanceOf: LogGapError });
});

test('recovery takes the longest copy, and checks the others are prefixes of it', (t) => {
  const long = [
    { epoch: 3, bytes: new Uint8Array([0x81, 0x82, 0x83]) },
    { epoch: 4, bytes: new Uint8Array([0x84]) },
  ];
  const short = [{ epoch: 3, bytes: new Uint8Array([0x81, 0x82]) }];
  t.deepEqual(longestCopy(1, [short, long, []]), long);
  t.throws(() => longestCopy(1, [long, [{ epoch: 3, bytes: new Uint8Array([0x81, 0x99]) }]]), { instanceOf: LogDivergenceError });
});

test('an envelope lists one slice per log with its hop count', (t) => {
  const upstream = new DeterminantLog({ taskId: 1 });
  const upstreamShipper = new DeltaShipper({ log: upstream, dsd: 2 });
  const toMiddle = upstreamShipper.addConsumer();
  const middle = new DeterminantLog({ taskId: 2 });
  const middleReplicas = new ReplicaStore({ dsd: 2 });
  const middleShipper = new DeltaShipper({ log: middle, replicas: middleReplicas, dsd: 2 });
  const toDownstream = middleShipper.addConsumer();
  upstream.order(0, 1);
  middleReplicas.ingest(upstreamShipper.delta(toMiddle)!);
  middle.order(1, 1);
  const slices = decodeEnvelope(middleShipper.delta(toDownstream)!);
  t.deepEqual(
    slices.map((s) => [s.taskId, s.epoch, s.offset, s.hops, s.bytes.length]),
    [
      [2, 0, 0, 1, 1],
      [1, 0, 0, 2, 1],
    ],
  );
  t.is(middleShipper.delta(toDownstream), null, 'nothing new, no envelope');
  appendDeterminant(middle, { kind: 'CLOCK', millis: 5 });
  t.deepEqual(
    decodeEnvelope(middleShipper.delta(toDownstream)!).map((s) => [s.taskId, s.offset]),
    [[2, 1]],
  );
});

test('a consumer that was reset receives everything held again', (t) => {
  const log = new DeterminantLog({ taskId: 1 });
  const shipper = new DeltaShipper({ log, dsd: 1 });
  const consumer = shipper.addConsumer();
  log.order(0, 1);
  shipper.delta(consumer);
  log.order(1, 1);
  shipper.resetConsumer(consumer);
  const [slice] = decodeEnvelope(shipper.delta(consumer)!);
  t.is(slice!.offset, 0);
  t.is(slice!.bytes.length, log.currentLength);
});
