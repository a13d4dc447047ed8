import test from 'ava';
import { isDeepStrictEqual } from 'node:util';
import fc from 'fast-check';
import { compareHashOutputs } from '../../bench/hash-comparison.js';
import { parseHashes } from '../../bench/peers/output-check.js';
import { compareOutputs } from '../../lib/verify/compare.js';
import { checkProperty } from '../helpers/property.js';

// Few distinct values, so that outputs share, repeat and miss hashes.
const output = fc.array(fc.array(fc.integer({ min: 0, max: 12 }).map((n) => n * 1_048_577), { maxLength: 12 }), { maxLength: 3 });

test('hash outputs compare as compareOutputs compares them: every count, the partitions that differ and the first difference (property, fixed seed)', (t) => {
  checkProperty(
    t,
    fc.property(output, output, (run, oracle) => isDeepStrictEqual(compareHashOutputs(run, oracle), compareOutputs(run, oracle))),
    1000,
  );
});

test('a run that lost one hash and shows another twice: 1 lost, 1 duplicate, not identical; without an oracle nothing is counted', (t) => {
  const oracle = [[5, 7, 9], [11]];
  const run = [[5, 9, 9], [11]];
  const c = compareHashOutputs(run, oracle);
  t.like(c, { records: 4, oracleRecords: 4, matched: 3, duplicates: 1, lost: 1, unexpected: 0, divergentPartitions: 1, identical: false });
  t.deepEqual(c.firstDifference, { partition: 0, index: 1, run: '9', oracle: '7' });
  t.like(compareHashOutputs(run, null), { records: 4, duplicates: null, lost: null, identical: null });
  t.throws(() => compareHashOutputs([[{ id: 1 }]], [[1]]), { instanceOf: TypeError, message: /not a hash/ });
});

test("the Flink peer's hashes file parses from its bytes, sorted; a malformed line is an error naming where it is", (t) => {
  const bytes = (text: string): Uint8Array => new TextEncoder().encode(text);
  t.deepEqual([...parseHashes(bytes('30\n4503599627370495\n7\n'))], [7, 30, 4503599627370495]);
  t.deepEqual([...parseHashes(bytes('2\r\n1'))], [1, 2], 'CRLF and no newline at the end');
  t.is(parseHashes(bytes('')).length, 0);
  t.throws(() => parseHashes(bytes('12\n1x\n')), { message: /malformed line near byte 4/ });
  t.throws(() => parseHashes(bytes('12345678901234567\n')), { message: /malformed/ }, 'more digits than a 52-bit hash has');
});
