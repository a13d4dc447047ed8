/**
 * Measures how fast the Nexmark generator makes events on one core: `npx tsx bench/nexmark/generator-rate.ts [seconds]`.
 *
 * It fills batches of 1024 events through `fill`, as a partition reader does, with the default config, and
 * prints the median rate over one-second rounds, then one JSON line. It measures; it asserts nothing.
 */
import { NexmarkGenerator } from './generator.js';

const seconds = Number(process.argv[2] ?? 5);
const batch = 1024;
const generator = new NexmarkGenerator();
const records = new Array<unknown>(batch);
const timestamps = new Float64Array(batch);
const rates: number[] = [];
let next = 0;
// Sum of a field of every event, so that the work cannot be optimised away.
let checksum = 0;
for (let round = 0; round < seconds; round++) {
  const started = performance.now();
  let made = 0;
  while (performance.now() - started < 1000) {
    for (let i = 0; i < 64; i++) {
      generator.fill(next, batch, 1, records, timestamps, 0);
      next += batch;
      made += batch;
      checksum += timestamps[batch - 1]!;
    }
  }
  const rate = made / ((performance.now() - started) / 1000);
  rates.push(rate);
  console.log(`round ${round + 1}: ${(rate / 1e6).toFixed(2)} M events/s`);
}
rates.sort((a, b) => a - b);
const median = rates[Math.floor(rates.length / 2)]!;
console.log(`median ${(median / 1e6).toFixed(2)} M events/s over ${seconds} rounds (${next} events, checksum ${checksum % 1000})`);
console.log(JSON.stringify({ bench: 'nexmark-generator', workers: 0, eventsPerSec: Math.round(median), node: process.version }));
