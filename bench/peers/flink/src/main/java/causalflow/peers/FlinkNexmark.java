package causalflow.peers;

import java.io.BufferedWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.Map;
import org.apache.flink.api.common.eventtime.WatermarkStrategy;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.configuration.RestartStrategyOptions;
import org.apache.flink.core.execution.CheckpointingMode;
import org.apache.flink.core.execution.JobClient;
import org.apache.flink.runtime.util.EnvironmentInformation;
import org.apache.flink.streaming.api.datastream.DataStream;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;

/**
 * Runs Nexmark Q1, Q3 or Q8 on a local MiniCluster (parallelism 2), one run after another in this JVM,
 * and prints one JSON line per run on stdout (progress goes to stderr):
 *
 * <ul>
 *   <li>{@code max}: the source as fast as it goes, no checkpoints; events/s over a window after a warm-up;
 *   <li>{@code max-checkpoints}: the same with aligned exactly-once checkpoints every {@code --checkpoint-ms};
 *   <li>{@code warmup}: an unmeasured {@code max-checkpoints} run of 3 s, to warm the JIT up for the runs after it;
 *   <li>{@code paced}: the source paced at {@code --rate} with checkpoints for {@code --paced-ms}, no failure:
 *       latency and visibility from {@code --latency-from-ms} on (default 1 s), and under {@code startup} those from
 *       1 s until then;
 *   <li>{@code kill-fastest}, {@code kill-default}: the source paced at {@code --failure-rate} (default: {@code --rate})
 *       for {@code --kill-at-ms} + {@code --after-ms}, and subtask 0 of the join throws at {@code --kill-at-ms}; restarted with a fixed delay of 0 (Flink's fastest) or with Flink's
 *       default strategy. The timeline of the sink and, with {@code --output-dir}, the hashes of the committed
 *       lines.
 * </ul>
 *
 * Usage: {@code FlinkNexmark --query q3 --runs max,max-checkpoints --warmup-ms 2000 --measure-ms 10000}
 * or {@code FlinkNexmark --query q3 --runs kill-fastest,kill-default --rate 50000 --kill-at-ms 11000
 * --after-ms 20000 --output-dir DIR}.
 */
public final class FlinkNexmark {
  private FlinkNexmark() {}

  /** Event-time rate of the generator: `BENCH_EVENT_RATE` of bench/worker-job.ts. */
  static final double BENCH_EVENT_RATE = 100_000;
  static final int PARALLELISM = 2;

  public static void main(String[] argv) throws Exception {
    Map<String, String> args = parse(argv);
    String query = args.getOrDefault("query", "q3");
    long checkpointMs = Long.parseLong(args.getOrDefault("checkpoint-ms", "1000"));
    for (String run : args.getOrDefault("runs", "max").split(",")) {
      System.err.println("flink " + query + ": " + run);
      String result = switch (run) {
        case "max", "max-checkpoints" -> maxRun(query, run.equals("max") ? 0 : checkpointMs, args);
        // An unmeasured 3 s at full speed with checkpoints, so that the runs after it start with compiled code.
        case "warmup" -> maxRun(query, checkpointMs, Map.of("warmup-ms", "1000", "measure-ms", "2000"));
        case "paced", "kill-fastest", "kill-default" -> pacedRun(query, checkpointMs, run, args);
        default -> throw new IllegalArgumentException("run: expected max, max-checkpoints, warmup, paced, kill-fastest or kill-default, got " + run);
      };
      System.out.println("{\"run\":\"" + run + "\",\"query\":\"" + query + "\",\"version\":\"" + EnvironmentInformation.getVersion() + "\"," + result + "}");
      System.out.flush();
    }
    System.exit(0);
  }

  private static Map<String, String> parse(String[] argv) {
    Map<String, String> args = new HashMap<>();
    for (int i = 0; i + 1 < argv.length; i += 2) {
      if (!argv[i].startsWith("--")) throw new IllegalArgumentException("expected --name value pairs, got " + argv[i]);
      args.put(argv[i].substring(2), argv[i + 1]);
    }
    return args;
  }

  private static double number(Map<String, String> args, String name, double fallback) {
    return args.containsKey(name) ? Double.parseDouble(args.get(name)) : fallback;
  }

  /** The MiniCluster environment: parallelism 2, checkpoints every `checkpointMs` (0: none), restarts as `restart` says. */
  private static StreamExecutionEnvironment environment(long checkpointMs, String restart, Map<String, String> args) throws Exception {
    Configuration conf = new Configuration();
    if (restart.equals("fastest")) {
      conf.set(RestartStrategyOptions.RESTART_STRATEGY, "fixed-delay");
      conf.set(RestartStrategyOptions.RESTART_STRATEGY_FIXED_DELAY_ATTEMPTS, Integer.MAX_VALUE);
      conf.set(RestartStrategyOptions.RESTART_STRATEGY_FIXED_DELAY_DELAY, Duration.ZERO);
    }
    Path checkpoints = Files.createTempDirectory("causalflow-peers-flink-");
    conf.setString("execution.checkpointing.dir", checkpoints.toUri().toString());
    conf.setString("execution.checkpointing.storage", "filesystem");
    StreamExecutionEnvironment env = StreamExecutionEnvironment.createLocalEnvironment(PARALLELISM, conf);
    // Flink flushes network buffers at least this often (default 100 ms, which would dominate latency here).
    env.setBufferTimeout((long) number(args, "buffer-timeout-ms", 10));
    // As the Flink Nexmark suite runs it: no defensive copy of every record between chained operators
    // (the functions here never modify their input, and the source makes a new event per record).
    env.getConfig().enableObjectReuse();
    env.getConfig().setAutoWatermarkInterval((long) number(args, "watermark-interval-ms", 100));
    if (checkpointMs > 0) env.enableCheckpointing(checkpointMs, CheckpointingMode.EXACTLY_ONCE);
    return env;
  }

  private static DataStream<Output> pipeline(StreamExecutionEnvironment env, String query, PacedSource source, double killAtMs) {
    DataStream<Event> events = env.addSource(source, "nexmark")
        .assignTimestampsAndWatermarks(WatermarkStrategy.<Event>forMonotonousTimestamps().withTimestampAssigner((e, t) -> e.dateTime))
        .name("watermarks");
    return Queries.build(query, events, killAtMs);
  }

  /** Maximum rate: events/s the sources emitted in [warmup, warmup + measure). */
  private static String maxRun(String query, long checkpointMs, Map<String, String> args) throws Exception {
    double warmupMs = number(args, "warmup-ms", 2000);
    double measureMs = number(args, "measure-ms", 10_000);
    Recorder.reset();
    StreamExecutionEnvironment env = environment(checkpointMs, "fastest", args);
    long seed = (long) number(args, "seed", 0);
    pipeline(env, query, new PacedSource(seed, BENCH_EVENT_RATE, 0, Long.MAX_VALUE, warmupMs + measureMs), -1)
        .addSink(new CommitSink(checkpointMs > 0, false, false)).name("bench-sink");
    JobClient job = env.executeAsync("peers-" + query + "-max");
    while (Double.isNaN(Recorder.startMs())) Thread.sleep(5);
    double start = Recorder.startMs();
    sleepUntil(start + warmupMs);
    long before = Recorder.sourced.get();
    double from = Recorder.nowMs();
    sleepUntil(start + warmupMs + measureMs);
    long after = Recorder.sourced.get();
    double to = Recorder.nowMs();
    job.getJobExecutionResult().get();
    double eventsPerSec = (after - before) / ((to - from) / 1000);
    return "\"checkpointMs\":" + checkpointMs + ",\"eventsPerSec\":" + Math.round(eventsPerSec) + "," + Recorder.figures(warmupMs, warmupMs + measureMs, false);
  }

  /**
   * A paced, bounded run, with one injected failure unless it is `paced`; with `--output-dir`, the hashes of
   * the committed lines go to `<dir>/<run>.hashes`.
   */
  private static String pacedRun(String query, long checkpointMs, String run, Map<String, String> args) throws Exception {
    boolean fails = !run.equals("paced");
    double rate = fails ? number(args, "failure-rate", number(args, "rate", 10_000)) : number(args, "rate", 10_000);
    // A `paced` run has no kill: its latency window simply ends where it ends.
    double killAtMs = fails ? number(args, "kill-at-ms", 5000) : number(args, "paced-ms", number(args, "kill-at-ms", 5000));
    double afterMs = fails ? number(args, "after-ms", 10_000) : 0;
    long events = Math.round(rate * (killAtMs + afterMs) / 1000);
    Recorder.reset();
    StreamExecutionEnvironment env = environment(checkpointMs, run.equals("kill-default") ? "default" : "fastest", args);
    long seed = (long) number(args, "seed", 0);
    pipeline(env, query, new PacedSource(seed, BENCH_EVENT_RATE, rate, events, 0), fails ? killAtMs : -1).addSink(new CommitSink(checkpointMs > 0, true, fails)).name("bench-sink");
    double submitted = Recorder.nowMs();
    env.execute("peers-" + query + "-" + run);
    double ended = Recorder.nowMs();
    if (fails && args.containsKey("output-dir")) {
      // One hash a line, ascending (Recorder.lineHash): what the TypeScript side checks against the expected output.
      try (BufferedWriter out = Files.newBufferedWriter(Path.of(args.get("output-dir"), run + ".hashes"), StandardCharsets.UTF_8)) {
        for (long hash : Recorder.committedHashes()) {
          out.write(Long.toString(hash));
          out.write('\n');
        }
      }
    }
    // Latency and visibility count from 1 s on, until the kill (a `paced` run ends there); a `paced` run may
    // start its window later, for the steady state, and reports the seconds before it apart.
    double latencyFromMs = fails ? 1000 : number(args, "latency-from-ms", 1000);
    String startup = fails || latencyFromMs <= 1000 ? "" : ",\"startup\":{" + Recorder.figures(1000, latencyFromMs, false) + "}";
    return "\"rate\":" + Json.number(rate) + ",\"events\":" + events + ",\"checkpointMs\":" + checkpointMs
        + ",\"restart\":\"" + (run.equals("kill-default") ? "default" : "fixed-delay 0 ms") + "\""
        + ",\"killAtMs\":" + Json.number(Recorder.killedAtMs) + ",\"failures\":" + Recorder.failures.get()
        + ",\"startupMs\":" + Json.number(Math.round(Recorder.startMs() - submitted)) + ",\"durationMs\":" + Json.number(Math.round(ended - Recorder.startMs()))
        + startup + "," + Recorder.figures(latencyFromMs, killAtMs, fails);
  }

  private static void sleepUntil(double at) throws InterruptedException {
    double now;
    while ((now = Recorder.nowMs()) < at) Thread.sleep((long) Math.max(1, Math.min(50, at - now)));
  }
}
