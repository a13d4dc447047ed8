import test from 'ava';

// `npm test` builds dist/ first; these imports resolve through package.json "exports" like a user's would.
test('a user can import causalflow/determinants by its package name', async (t) => {
  const api = await import('causalflow/determinants');
  for (const name of ['DeterminantLog', 'DeltaShipper', 'ReplicaStore', 'ReplayReader', 'DeterminantStore', 'Kind', 'LogCorruptionError']) {
    t.truthy((api as Record<string, unknown>)[name], name);
  }
});

test('the README example runs as written: record, ship, replicate, replay', async (t) => {
  const { DeterminantLog, DeltaShipper, ReplicaStore, ReplayReader } = await import('causalflow/determinants');
  // --- README example (keep in sync with README.md) ---
  const log = new DeterminantLog({ taskId: 1 });
  const shipper = new DeltaShipper({ log, dsd: 1 }), downstream = shipper.addConsumer();
  log.order(0, 256); log.clock(Date.now());
  const replica = new ReplicaStore({ dsd: 1 }); replica.ingest(shipper.delta(downstream)!);
  const reader = new ReplayReader(replica.logOf(1, 0)); const channel = reader.nextOrder();
  // --- end ---
  t.is(channel, 0);
  t.is(reader.count, 256);
  t.true(reader.nextClock() > 0);
  t.true(reader.exhausted);
});
