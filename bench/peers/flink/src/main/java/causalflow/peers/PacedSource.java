package causalflow.peers;

import java.util.concurrent.locks.LockSupport;
import org.apache.flink.api.common.state.ListState;
import org.apache.flink.api.common.state.ListStateDescriptor;
import org.apache.flink.runtime.state.FunctionInitializationContext;
import org.apache.flink.runtime.state.FunctionSnapshotContext;
import org.apache.flink.streaming.api.checkpoint.CheckpointedFunction;
import org.apache.flink.streaming.api.functions.source.legacy.RichParallelSourceFunction;

/**
 * The Nexmark source, split as `bench/nexmark/source.ts` splits it: subtask p of P emits event numbers
 * p, p + P, p + 2P, …, and with a rate, event n is due at `start + n · 1000 / rate` (the rate over all
 * subtasks), which is its arrival time, from which latency is measured. Its offset is checkpointed, so a
 * restored source resumes at the checkpoint and replays what came after it.
 */
public class PacedSource extends RichParallelSourceFunction<Event> implements CheckpointedFunction {
  /** Events emitted per hold of the checkpoint lock. */
  private static final int BATCH = 64;

  private final long seed;
  private final double eventRate;
  /** Events per second over all subtasks; 0: as fast as it can. */
  private final double rate;
  /** Event numbers run from 0 to maxEvents − 1. */
  private final long maxEvents;
  /** Stop this long after the start (ms); 0: run until maxEvents. */
  private final double stopAfterMs;
  private volatile boolean running = true;
  private long offset;
  private transient ListState<long[]> offsets;

  public PacedSource(long seed, double eventRate, double rate, long maxEvents, double stopAfterMs) {
    this.seed = seed;
    this.eventRate = eventRate;
    this.rate = rate;
    this.maxEvents = maxEvents;
    this.stopAfterMs = stopAfterMs;
  }

  @Override
  public void run(SourceContext<Event> ctx) {
    int partitions = getRuntimeContext().getTaskInfo().getNumberOfParallelSubtasks();
    int partition = getRuntimeContext().getTaskInfo().getIndexOfThisSubtask();
    NexmarkGenerator generator = new NexmarkGenerator(seed, eventRate, 0, 0);
    double start = Recorder.start();
    while (running) {
      double now = Recorder.nowMs();
      if (stopAfterMs > 0 && now - start >= stopAfterMs) break;
      long n = offset * partitions + partition;
      if (n >= maxEvents) break;
      double due = scheduledAt(start, n);
      if (due > now) {
        LockSupport.parkNanos((long) Math.min((due - now) * 1e6, 5e6));
        continue;
      }
      int emitted = 0;
      synchronized (ctx.getCheckpointLock()) {
        while (emitted < BATCH && n < maxEvents && due <= now) {
          Event event = generator.event(n);
          event.arrival = rate > 0 ? due : now;
          ctx.collect(event);
          offset++;
          emitted++;
          n = offset * partitions + partition;
          due = scheduledAt(start, n);
        }
      }
      Recorder.sourced(emitted);
    }
  }

  /** When event n is due, as `scheduledAt` in bench/nexmark/source.ts; as fast as it goes without a rate. */
  private double scheduledAt(double start, long n) {
    return rate > 0 ? start + (n * 1000.0) / rate : Double.NEGATIVE_INFINITY;
  }

  @Override
  public void cancel() {
    running = false;
  }

  @Override
  public void snapshotState(FunctionSnapshotContext context) throws Exception {
    offsets.update(java.util.List.of(new long[] {getRuntimeContext().getTaskInfo().getIndexOfThisSubtask(), offset}));
  }

  @Override
  public void initializeState(FunctionInitializationContext context) throws Exception {
    // Union state: every subtask sees every (partition, offset) pair and takes its own partition's.
    offsets = context.getOperatorStateStore().getUnionListState(new ListStateDescriptor<>("offsets", long[].class));
    if (!context.isRestored()) return;
    int partition = getRuntimeContext().getTaskInfo().getIndexOfThisSubtask();
    for (long[] entry : offsets.get()) if (entry[0] == partition) offset = entry[1];
  }
}
