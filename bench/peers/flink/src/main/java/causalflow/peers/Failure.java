package causalflow.peers;

import org.apache.flink.api.common.functions.RuntimeContext;

/** The injected failure: subtask 0 of the operator that calls {@link #check}, once, at a chosen time after the start. */
final class Failure {
  private Failure() {}

  /** Throws if `killAtMs` (≥ 0) has passed, this is subtask 0, and it is the first attempt. */
  static void check(RuntimeContext context, double killAtMs) {
    if (killAtMs < 0 || context.getTaskInfo().getIndexOfThisSubtask() != 0 || context.getTaskInfo().getAttemptNumber() != 0) return;
    double since = Recorder.nowMs() - Recorder.startMs();
    if (since < killAtMs) return;
    if (Recorder.failures.getAndIncrement() == 0) Recorder.killedAtMs = since;
    throw new IllegalStateException("injected failure at " + Math.round(since) + " ms");
  }
}
