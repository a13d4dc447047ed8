package causalflow.peers;

import java.util.ArrayList;
import java.util.TreeSet;
import org.apache.flink.api.common.state.CheckpointListener;
import org.apache.flink.api.common.state.ListState;
import org.apache.flink.api.common.state.ListStateDescriptor;
import org.apache.flink.runtime.state.FunctionInitializationContext;
import org.apache.flink.runtime.state.FunctionSnapshotContext;
import org.apache.flink.streaming.api.checkpoint.CheckpointedFunction;
import org.apache.flink.streaming.api.functions.sink.legacy.RichSinkFunction;

/**
 * An exactly-once sink by two-phase commit, as Flink's transactional sinks (Kafka's) work: records go into
 * the open transaction of the external system ({@link Recorder}'s transaction store stands for it), the
 * checkpoint barrier pre-commits it and the checkpoint holds only its id, and the transaction is
 * committed, which makes it visible, when that checkpoint completes (`notifyCheckpointComplete`). A
 * restored sink commits the transactions its checkpoint lists, each at most once (an id per subtask and
 * checkpoint, as a Kafka transactional id fences); transactions after it are never committed. It records
 * when each record reached it and when it became visible. Without checkpointing it commits every record
 * at once. With `measureOutput` false (maximum-rate runs) it only counts, as causalflow's discard sink.
 */
public class CommitSink extends RichSinkFunction<Output> implements CheckpointedFunction, CheckpointListener {
  private final boolean checkpointing;
  private final boolean measureOutput;
  /** Whether committed lines are hashed for the output check (failure runs; the paced run spares the cost). */
  private final boolean hashLines;
  /** The open transaction (written to the external system, not yet visible). */
  private transient Recorder.Transaction open;
  /** Checkpoints whose transaction is pre-committed but not yet known complete. */
  private transient TreeSet<Long> pending;
  private transient ListState<Long> pendingState;

  public CommitSink(boolean checkpointing, boolean measureOutput, boolean hashLines) {
    this.checkpointing = checkpointing;
    this.measureOutput = measureOutput;
    this.hashLines = hashLines;
  }

  private String transaction(long checkpointId) {
    return getRuntimeContext().getTaskInfo().getIndexOfThisSubtask() + "/" + checkpointId;
  }

  @Override
  public void invoke(Output value, Context context) {
    if (!measureOutput) {
      Recorder.counted();
      return;
    }
    double now = Recorder.nowMs();
    Recorder.reachedSink(now, now - value.arrival);
    if (!checkpointing) {
      Recorder.commitAtOnce(value, now);
      return;
    }
    open.add(value, hashLines);
  }

  @Override
  public void snapshotState(FunctionSnapshotContext context) throws Exception {
    if (!measureOutput) return;
    Recorder.preCommit(transaction(context.getCheckpointId()), open);
    open = new Recorder.Transaction();
    pending.add(context.getCheckpointId());
    pendingState.update(new ArrayList<>(pending));
  }

  @Override
  public void notifyCheckpointComplete(long checkpointId) {
    if (!measureOutput) return;
    double now = Recorder.nowMs();
    // A completed checkpoint subsumes the ones before it: commit every transaction up to it.
    while (!pending.isEmpty() && pending.first() <= checkpointId) Recorder.commit(transaction(pending.pollFirst()), now);
  }

  @Override
  public void initializeState(FunctionInitializationContext context) throws Exception {
    open = new Recorder.Transaction();
    pending = new TreeSet<>();
    pendingState = context.getOperatorStateStore().getListState(new ListStateDescriptor<>("pending-transactions", Long.class));
    if (!context.isRestored()) return;
    // The restored checkpoint completed, so the transactions it lists are committed now if they were not before.
    double now = Recorder.nowMs();
    for (Long checkpointId : pendingState.get()) Recorder.commit(transaction(checkpointId), now);
    pendingState.clear();
  }
}
