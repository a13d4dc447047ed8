/**
 * Keyed state and timers: raises an alert when a sensor reads above 90 twice within 50 ms of event
 * time, and a "silent" alert when a sensor sends nothing for 100 ms of event time (which, at the end
 * of the stream, every sensor is). Exactly-once under global rollback: kill an alerts task two
 * seconds in, and the alerts are the same as without the failure.
 *
 *   npx causalflow run docs/examples/sensor-alerts.ts --kill 'alerts[1]@2000'
 */
import { Job, sequence } from 'causalflow';

interface Reading {
  sensor: number;
  at: number;
  value: number;
}

const job = new Job({ name: 'sensor-alerts', parallelism: 2, recovery: { mode: 'global-rollback', checkpointIntervalMs: 500 } });

job
  .source(
    // Reading n: sensor n % 5, at event time n ms, a value that peaks now and then; sensor 4 goes quiet at 3 s.
    sequence((n): Reading | null => (n % 5 === 4 && n > 3000 ? null : { sensor: n % 5, at: n, value: 50 + ((n * 37) % 47) }), { count: 5000, rate: 1000 }),
    { watermarks: { timestamp: (r) => r?.at ?? 0 } },
  )
  .filter((r): r is Reading => r !== null)
  .keyBy((r) => r.sensor)
  .process<string>(
    {
      processElement(r, ctx) {
        const lastHigh = ctx.state.value<number>('lastHigh');
        if (r.value > 90) {
          const previous = lastHigh.value();
          if (previous !== undefined && r.at - previous <= 50) ctx.emit(`sensor ${r.sensor}: high twice by ${r.at} ms`);
          lastHigh.update(r.at);
        }
        const deadline = ctx.state.value<number>('deadline');
        const old = deadline.value();
        if (old !== undefined) ctx.timers.deleteEventTime(old);
        deadline.update(r.at + 100);
        ctx.timers.registerEventTime(r.at + 100);
      },
      onTimer(timestamp, ctx) {
        if (timestamp !== Infinity) ctx.emit(`sensor ${ctx.key}: silent since ${timestamp - 100} ms`);
      },
    },
    { name: 'alerts' },
  )
  .print({ parallelism: 1 });

export default job;
