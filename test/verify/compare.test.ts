import test from 'ava';
import { CollectSink } from '../../lib/connectors/collect.js';
import { compareOutputs, describeComparison, extraRecords, outputOf } from '../../lib/verify/compare.js';

// The one comparison of demo, bench recovery and verify. Each scenario states the counts as the doc
// comment of compare.ts defines them: matched + duplicates + unexpected = run records, matched + lost =
// oracle records.

const oracle = [[{ a: 1 }, { a: 2 }], [{ b: 1 }]];

test('a run equal to its oracle: nothing counted, identical', (t) => {
  const c = compareOutputs([[{ a: 1 }, { a: 2 }], [{ b: 1 }]], oracle);
  t.like(c, { records: 3, oracleRecords: 3, matched: 3, duplicates: 0, unexpected: 0, lost: 0, divergentPartitions: 0, identical: true, firstDifference: null });
});

test('a record shown twice is one duplicate, and the first difference points at the second copy', (t) => {
  const c = compareOutputs([[{ a: 1 }, { a: 1 }, { a: 2 }], [{ b: 1 }]], oracle);
  t.like(c, { matched: 3, duplicates: 1, unexpected: 0, lost: 0, divergentPartitions: 1, identical: false });
  t.deepEqual(c.firstDifference, { partition: 0, index: 1, run: '{"a":1}', oracle: '{"a":2}' });
});

test('a missing record is lost; a record the oracle lacks is unexpected, its copies duplicates', (t) => {
  t.like(compareOutputs([[{ a: 2 }], [{ b: 1 }]], oracle), { matched: 2, lost: 1, duplicates: 0, unexpected: 0, divergentPartitions: 1 });
  const c = compareOutputs([[{ a: 1 }, { a: 2 }, { z: 9 }, { z: 9 }], [{ b: 1 }]], oracle);
  t.like(c, { matched: 3, unexpected: 1, duplicates: 1, lost: 0 });
  t.is(c.matched! + c.duplicates! + c.unexpected!, c.records);
});

test('the same records in another order: nothing lost or doubled, yet the partition differs', (t) => {
  t.like(compareOutputs([[{ a: 2 }, { a: 1 }], [{ b: 1 }]], oracle), { duplicates: 0, lost: 0, unexpected: 0, divergentPartitions: 1, identical: false });
});

test('records the oracle shows twice are no duplicates when the run shows them twice too', (t) => {
  const twice = [[{ w: 'a' }, { w: 'a' }]];
  t.like(compareOutputs(twice, twice), { duplicates: 0, lost: 0, identical: true });
  t.like(compareOutputs([[{ w: 'a' }, { w: 'a' }, { w: 'a' }]], twice), { duplicates: 1, lost: 0 });
});

test('by identity: one uid with other content is no duplicate, but its partition differs from the oracle', (t) => {
  const identity = (r: unknown) => String((r as { uid: string }).uid);
  const c = compareOutputs([[{ uid: '1', v: 7 }]], [[{ uid: '1', v: 8 }]], { identity });
  t.like(c, { matched: 1, duplicates: 0, lost: 0, unexpected: 0, divergentPartitions: 1, identical: false });
});

test('without an oracle only duplicates by an explicit identity are counted; everything else is null', (t) => {
  const run = [[{ uid: '1' }, { uid: '1' }, { uid: '2' }]];
  t.like(compareOutputs(run, null, { identity: (r) => (r as { uid: string }).uid }), { duplicates: 1, lost: null, unexpected: null, identical: null, divergentPartitions: null });
  t.is(compareOutputs(run, null).duplicates, null, 'records as identities mean nothing without the oracle');
  t.regex(describeComparison(compareOutputs(run, null)), /no oracle/);
});

test('a partition only one side has differs only if it holds records', (t) => {
  t.like(compareOutputs([[{ a: 1 }], []], [[{ a: 1 }]]), { identical: true });
  t.like(compareOutputs([[{ a: 1 }], [{ b: 1 }]], [[{ a: 1 }]]), { identical: false, unexpected: 1, divergentPartitions: 1 });
});

test('extraRecords: the oracle as a subsequence of the run leaves the abandoned execution over; a missing record leaves null', (t) => {
  const final = [[{ n: 0 }, { n: 1 }, { n: 2 }]];
  t.deepEqual(extraRecords([[{ n: 0 }, { n: 1, old: true }, { n: 1 }, { n: 2 }]], final), [[1]]);
  t.deepEqual(extraRecords(final, final), [[]]);
  t.is(extraRecords([[{ n: 0 }, { n: 2 }]], final), null);
  t.is(extraRecords([[{ n: 0 }, { n: 2 }, { n: 1 }]], final), null, 'out of order');
});

test('outputOf reads a collect sink partition by partition', (t) => {
  const sink = new CollectSink<number>();
  sink.open({ subtask: 1 }).write!([3, 4], 0);
  sink.open({ subtask: 0 }).write!([1], 0);
  t.deepEqual(outputOf(sink), [[1], [3, 4]]);
});
