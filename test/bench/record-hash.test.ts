import test from 'ava';
import fc from 'fast-check';
import { recordHash } from '../../bench/record-hash.js';
import { checkProperty } from '../helpers/property.js';

// Records as the queries output them: plain objects of numbers, strings, booleans, null and nested lists.
const scalar = fc.oneof(
  fc.integer({ min: -5, max: 5 }),
  fc.maxSafeInteger(),
  fc.double({ noNaN: false }),
  fc.string({ maxLength: 6 }),
  fc.constantFrom('0', '1', 'true', 'null', '"', '\\', '\u0000', '\ud800'),
  fc.boolean(),
  fc.constant(null),
);
const record = fc.letrec((tie) => ({
  value: fc.oneof({ depthSize: 'small' }, scalar, tie('list'), tie('object')),
  list: fc.array(tie('value'), { maxLength: 3 }),
  object: fc.dictionary(fc.constantFrom('a', 'b', 'id', 'price', '1', 'x y'), tie('value'), { maxKeys: 4 }),
})).object;

test('two records hash alike exactly when they print as the same JSON (property, fixed seed)', (t) => {
  checkProperty(
    t,
    fc.property(record, record, (a, b) => {
      const sameJson = JSON.stringify(a) === JSON.stringify(b);
      return (recordHash(a) === recordHash(b)) === sameJson;
    }),
    2000,
  );
});

test('a record and a copy of it rebuilt field by field in the same order hash alike, and the hash is a safe integer', (t) => {
  checkProperty(
    t,
    fc.property(record, (a) => {
      const copy = JSON.parse(JSON.stringify(a)) as unknown;
      const hash = recordHash(a);
      return Number.isSafeInteger(hash) && hash >= 0 && recordHash(copy) === hash;
    }),
    1000,
  );
});

test('records that differ only in the type, order or absence of a field hash apart; fields JSON leaves out change nothing', (t) => {
  const bid = { auction: 1000, price: 90, bidder: 2001, dateTime: 1_700_000_000_000 };
  t.not(recordHash(bid), recordHash({ ...bid, price: '90' }), 'number against string');
  t.not(recordHash(bid), recordHash({ price: 90, auction: 1000, bidder: 2001, dateTime: 1_700_000_000_000 }), 'field order, as JSON prints it');
  t.not(recordHash(bid), recordHash({ auction: 1000, price: 90, bidder: 2001 }), 'a field missing');
  t.not(recordHash({ a: 1, b: 2 }), recordHash({ b: 1, a: 2 }), 'the same values under swapped keys');
  t.not(recordHash(bid), recordHash({ ...bid, dateTime: bid.dateTime + 4_294_967_296 }), 'the high word of an integer');
  t.is(recordHash({ ...bid, note: undefined }), recordHash(bid), 'an undefined field, which JSON omits');
  t.is(recordHash({ at: new Date(0) }), recordHash({ at: '1970-01-01T00:00:00.000Z' }), 'a Date, by its toJSON');
  t.is(recordHash({ n: Number.NaN }), recordHash({ n: null }), 'NaN, which JSON prints as null');
  t.is(recordHash({ n: -0 }), recordHash({ n: 0 }), '-0, which JSON prints as 0');
});
