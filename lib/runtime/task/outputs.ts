/**
 * The output side of a task: its channel writers, their credit, and the in-flight replays to replacement
 * consumers.
 *
 * - Each writer keeps an in-flight log when fault tolerance needs one (the task's logs share one memory
 *   budget) and attaches the recorder's envelopes to what it sends (I1).
 * - **Credit.** A task starts on more input only while every output channel has credit (I24). Any task,
 *   live or replaying, may write past the credit of a consumer that replays (I18): the consumer takes its
 *   inputs in recorded order, and waiting on it could close a cycle the recorded run never had.
 * - **Replays to replacements.** A writer retargeted to a replacement consumer replays its in-flight log
 *   after what the consumer's checkpoint consumed, pumped at each activation as far as credit allows.
 */
import { InflightBudget, InflightLog } from '../../inflight/log.js';
import type { OutputChannel } from '../../transport/channel.js';
import { ChannelWriter } from '../writer.js';
import type { Task } from '../task.js';
import type { TaskEnvironment } from './environment.js';

/** A task's output writers. */
export class TaskOutputs {
  /** Output writers, per output edge. */
  readonly writers: ChannelWriter[][];
  /** All output writers, flat. */
  readonly all: ChannelWriter[] = [];
  /** Writers replaying their in-flight log to a replacement consumer. */
  replaying = 0;
  private readonly inflightBudget: InflightBudget;

  constructor(
    private readonly task: Task,
    private readonly env: TaskEnvironment,
  ) {
    this.writers = task.plan.outputs.map(() => []);
    this.inflightBudget = new InflightBudget(env.inflightMaxRecords);
  }

  /** Adds a writer for output edge `edge`. `seq` continues a restored sequence. */
  add(edge: number, channel: OutputChannel, seq: number): ChannelWriter {
    const task = this.task;
    const inflight = this.env.features.inflightLog
      ? new InflightLog(task.taskId, channel.id.index, task.epoch, seq, this.inflightBudget, this.env.inflightSpill, this.env.inflightRetention)
      : null;
    const writer = new ChannelWriter(channel, seq, task, inflight, task.recorder);
    writer.consumerId = task.recorder.addConsumer();
    this.connect(writer);
    this.writers[edge]!.push(writer);
    this.all.push(writer);
    return writer;
  }

  /** Listens for credit on a writer's (possibly new) channel. */
  connect(writer: ChannelWriter): void {
    const task = this.task;
    writer.channel.onWritable = () => {
      if (task.backpressured || writer.replaying) {
        task.backpressured = false;
        this.env.markRunnable(task);
      }
    };
  }

  /**
   * Retargets a writer to a replacement consumer's channel and replays to it, from the in-flight log,
   * everything after `afterSeq` (what the consumer's checkpoint says it consumed).
   */
  replayTo(writer: ChannelWriter, channel: OutputChannel, afterSeq: number): void {
    if (!writer.replaying) this.replaying++;
    writer.replayTo(channel, afterSeq);
    this.task.recorder.resetConsumer(writer.consumerId);
    this.connect(writer);
    this.env.markRunnable(this.task);
  }

  /** Replays pending in-flight elements to replacement consumers, as far as their credit allows. */
  pumpReplays(): void {
    for (const writer of this.all) {
      if (!writer.replaying) continue;
      writer.pump();
      if (!writer.replaying) this.replaying--;
    }
  }

  /**
   * Whether every output channel has credit. A channel whose consumer replays never holds the task back,
   * live or replaying (I18): the consumer takes its inputs in recorded order, and waiting on it can close
   * a cycle through its other producers that the recorded run never had.
   */
  writable(): boolean {
    const writers = this.all;
    for (let i = 0; i < writers.length; i++) {
      const writer = writers[i]!;
      if (!writer.writable() && !writer.channel.consumerReplaying) return false;
    }
    return true;
  }

  /** Sends every partially filled output batch (bounds latency at the end of an activation). */
  flush(): void {
    const task = this.task;
    if (task.buffering) for (const op of task.operators) op.flush();
    const writers = this.all;
    for (let i = 0; i < writers.length; i++) writers[i]!.flush();
  }

  /** The task died: batches being filled and in-flight logs are gone. */
  discard(): void {
    for (const writer of this.all) {
      writer.discardPending();
      writer.inflight?.discard();
    }
  }
}
