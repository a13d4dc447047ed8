/**
 * Counts words per 1-second window of event time, with global-rollback recovery.
 *
 *   npx causalflow run docs/examples/word-count.ts
 */
import { Job, sequence, tumbling } from 'causalflow';

const words = ['stream', 'state', 'window', 'checkpoint', 'recovery', 'causal', 'log'];

const job = new Job({ name: 'word-count', parallelism: 2, recovery: { mode: 'global-rollback', checkpointIntervalMs: 1000 } });

job
  // 20,000 words, 5,000 per second; word n happens at event time n ms.
  .source(sequence((n) => ({ word: words[(n * 7 + (n >> 3)) % words.length]!, at: n }), { count: 20_000, rate: 5_000, partitions: 2 }), {
    watermarks: { timestamp: (w) => w.at },
  })
  .keyBy((w) => w.word)
  .window(tumbling(1_000))
  .aggregate(
    { create: () => 0, add: (n: number) => n + 1, result: (n: number) => n },
    (word, window, count) => ({ word, second: window.start / 1000, count }),
  )
  .filter((c) => c.second % 5 === 0)
  .print();

export default job;
