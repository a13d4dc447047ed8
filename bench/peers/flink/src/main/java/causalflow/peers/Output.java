package causalflow.peers;

/** One query result on its way to the sink: its JSON line and the arrival time of the event that caused it. */
public class Output {
  /** The result as `JSON.stringify` prints the TypeScript query's result object. */
  public String line;
  /** {@link Event#arrival} of the input that caused it (ms on {@link Recorder#nowMs()}'s clock). */
  public double arrival;

  public Output() {}

  Output(String line, double arrival) {
    this.line = line;
    this.arrival = arrival;
  }
}
