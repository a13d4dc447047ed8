/**
 * A job to check with `causalflow verify --job`: orders priced by a quote service whose answer changes on
 * every call, and a running total per customer. The verifier kills its tasks at seeded moments, lets it
 * recover, and checks that no order shows twice and that the output equals an oracle replay of the
 * run's determinants.
 *
 *   npx causalflow verify --job docs/examples/verify-job.ts --runs 5
 *   npx causalflow verify --job docs/examples/verify-job.ts --runs 2 --mode at-least-once   # violations: prices asked twice
 *
 * The default export names how to build the job (from the options the verifier gives, which carry the
 * recovery mode, checkpoint interval and a directory) and how to name an output record.
 */
import { Job, sequence, verifiableJob, type JobOptions, type KeyedProcessContext } from 'causalflow';

interface Order {
  order: number;
  customer: number;
}

interface Priced extends Order {
  price: number;
  total: number;
}

/** The external service: a different price on every call, as a real one would give. */
let quotesGiven = 0;
async function quote(order: Order): Promise<number> {
  await new Promise<void>((resolve) => setImmediate(resolve));
  return 100 + ((order.order * 31 + quotesGiven++) % 50);
}

export default verifiableJob({
  name: 'priced-orders',
  build(options: JobOptions) {
    const job = new Job({ ...options, name: 'priced-orders' });
    const sink = job
      .source(sequence((n): Order => ({ order: n, customer: n % 12 }), { count: 3000, rate: 5000, partitions: 2 }), { name: 'orders' })
      .keyBy((o) => o.customer)
      .process<Priced>(
        {
          async processElement(o: Order, ctx: KeyedProcessContext<number, Priced>) {
            // The answer is recorded; a replacement replays it rather than asking again.
            const price = await ctx.call('quote', () => quote(o));
            const total = ctx.state.value<number>('total');
            const next = (total.value() ?? 0) + price;
            total.update(next);
            ctx.emit({ ...o, price, total: next });
          },
        },
        { name: 'price', async: true },
      )
      .collect({ name: 'out' });
    return { job, sink };
  },
  // One record per order in a correct output.
  identity: (priced) => String(priced.order),
});
