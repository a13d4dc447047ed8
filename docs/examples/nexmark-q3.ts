/**
 * Nexmark Q3 (local item suggestion) on 2 million events at 500,000 events/s, with global-rollback
 * recovery: who sells in category 10 and lives in Oregon, Idaho or California.
 *
 *   npx causalflow run docs/examples/nexmark-q3.ts
 */
import { Job } from 'causalflow';
import { nexmarkSource } from '../../bench/nexmark/source.js';
import { QUERIES } from '../../bench/nexmark/queries.js';

const job = new Job({ name: 'nexmark-q3', parallelism: 2, recovery: { mode: 'global-rollback', checkpointIntervalMs: 1000 } });
const events = job.source(nexmarkSource({ partitions: 2, rate: 500_000, maxEvents: 2_000_000 }), { watermarks: {} });
QUERIES.q3.build(events).filter((r: { state: string }) => r.state === 'OR').print({ parallelism: 1 });

export default job;
