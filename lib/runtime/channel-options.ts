/**
 * Credit and batch size of a plan channel, the same in every process. Into a task whose head operator is
 * async the credit is smaller: such a task takes its records one promise at a time, and a checkpoint
 * barrier queued behind a full channel would wait for every record ahead of it (aligned checkpoints, I24).
 */
import type { ResolvedJobOptions } from '../config.js';
import type { ChannelOptions } from '../transport/transport.js';
import type { LogicalNode, PhysicalPlan } from './plan.js';

/** Data batches a channel into an async operator's task holds. */
export const ASYNC_INPUT_CAPACITY = 2;

/** The options of channel `channel` (only its consumer matters). */
export function channelOptions(nodes: readonly LogicalNode[], plan: PhysicalPlan, options: ResolvedJobOptions, channel: { to: number }): ChannelOptions {
  const consumer = plan.tasks[channel.to]!;
  const head = nodes[plan.vertices[consumer.vertex]!.nodes[0]!]!;
  const credit = (batches: number): number => (head.async === true ? Math.min(batches, ASYNC_INPUT_CAPACITY) : batches);
  return { capacity: credit(options.channelCapacity), remoteCapacity: credit(options.remoteChannelCapacity), batchSize: options.batchSize, serialize: options.serializeChannels };
}
