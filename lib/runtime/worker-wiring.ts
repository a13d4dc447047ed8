/**
 * Where a worker's channel ends lead: which worker holds each task, and each channel's current
 * incarnation (a channel gets a new one when either end is replaced, I8). Deployments set both; a
 * recovery round moves tasks and renews incarnations.
 */
import type { LocalChannel, OutputChannel } from '../transport/channel.js';
import type { Transport } from '../transport/transport.js';
import type { PhysicalPlan } from './plan.js';

/** The placement and channel incarnations a worker opens its channel ends with. */
export class ChannelWiring {
  /** The worker of each task, by task id. */
  placement: number[];
  /** The current incarnation of each channel, by channel index. */
  readonly incarnations: number[];

  constructor(
    private readonly plan: PhysicalPlan,
    private readonly transport: Transport,
    worker: number,
  ) {
    this.placement = plan.tasks.map(() => worker);
    this.incarnations = plan.channels.map(() => 0);
  }

  /** A deployment's placement and incarnations, replacing all of these. */
  reset(placement: readonly number[], incarnations: readonly number[]): void {
    this.placement = [...placement];
    this.incarnations.splice(0, this.incarnations.length, ...incarnations);
  }

  /** The consuming end of channel `index`, at its current incarnation. */
  inputEnd(index: number): LocalChannel {
    const channel = this.plan.channels[index]!;
    return this.transport.inputEnd(channel, this.incarnations[index]!, this.placement[channel.from]!);
  }

  /** The producing end of channel `index`, at its current incarnation. */
  outputEnd(index: number): OutputChannel {
    const channel = this.plan.channels[index]!;
    return this.transport.outputEnd(channel, this.incarnations[index]!, this.placement[channel.to]!);
  }
}
