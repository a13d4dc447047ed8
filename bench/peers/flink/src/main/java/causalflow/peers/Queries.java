package causalflow.peers;

import java.util.ArrayList;
import java.util.List;
import org.apache.flink.api.common.functions.RichMapFunction;
import org.apache.flink.api.common.state.ListState;
import org.apache.flink.api.common.state.ListStateDescriptor;
import org.apache.flink.api.common.state.MapState;
import org.apache.flink.api.common.state.MapStateDescriptor;
import org.apache.flink.api.common.state.ValueState;
import org.apache.flink.api.common.state.ValueStateDescriptor;
import org.apache.flink.api.common.typeinfo.Types;
import org.apache.flink.api.java.tuple.Tuple2;
import org.apache.flink.api.common.functions.OpenContext;
import org.apache.flink.streaming.api.datastream.DataStream;
import org.apache.flink.streaming.api.functions.co.KeyedCoProcessFunction;
import org.apache.flink.util.Collector;

/**
 * Nexmark Q1, Q3 and Q8 on the DataStream API, with the semantics of `bench/nexmark/queries.ts`: the same
 * filters, the same keyed state and event-time timers, and results printed as the TypeScript query's
 * result objects print with `JSON.stringify`, so that outputs compare line for line. The failure is
 * injected where the TypeScript benchmark kills a task: the deepest stateful operator (Q3's and Q8's
 * join), and for Q1, which has none, its map.
 */
final class Queries {
  private Queries() {}

  /** Q3: how long a registered person is kept as a potential seller (event time). */
  static final long PERSON_TTL_MS = 60_000;
  /** Q3: how long an auction waits for its seller to register (event time). */
  static final long AUCTION_WAIT_MS = 10_000;
  /** Q8's window (event time). */
  static final long WINDOW_MS = 10_000;

  /** The query's result stream. */
  static DataStream<Output> build(String query, DataStream<Event> events, double killAtMs) {
    return switch (query) {
      case "q1" -> events.filter(e -> e.kind == Event.BID).name("q1-bids").map(new Q1(killAtMs)).name("q1-euros");
      case "q3" -> events.filter(e -> e.kind == Event.PERSON && (e.state.equals("OR") || e.state.equals("ID") || e.state.equals("CA"))).name("q3-persons")
          .connect(events.filter(e -> e.kind == Event.AUCTION && e.category == 10).name("q3-auctions"))
          .keyBy(p -> p.id, a -> a.seller, Types.LONG)
          .process(new Q3(killAtMs)).name("q3-join");
      case "q8" -> events.filter(e -> e.kind == Event.PERSON).name("q8-persons")
          .connect(events.filter(e -> e.kind == Event.AUCTION).name("q8-auctions"))
          .keyBy(p -> p.id, a -> a.seller, Types.LONG)
          .process(new Q8(killAtMs)).name("q8-join");
      default -> throw new IllegalArgumentException("query: expected q1, q3 or q8, got " + query);
    };
  }

  /** Q1: every bid with its price in euros. */
  static final class Q1 extends RichMapFunction<Event, Output> {
    private final double killAtMs;

    Q1(double killAtMs) {
      this.killAtMs = killAtMs;
    }

    @Override
    public Output map(Event b) {
      Failure.check(getRuntimeContext(), killAtMs);
      String line = "{\"auction\":" + b.auction + ",\"price\":" + Math.round(b.price * 0.908) + ",\"bidder\":" + b.bidder + ",\"dateTime\":" + b.dateTime + "}";
      return new Output(line, b.arrival);
    }
  }

  private static String q3Line(String name, String city, String state, long id) {
    StringBuilder out = new StringBuilder(64).append('{');
    Json.field(out, "name", name).append(',');
    Json.field(out, "city", city).append(',');
    Json.field(out, "state", state).append(",\"id\":").append(id).append('}');
    return out.toString();
  }

  /** Q3: sellers in OR, ID or CA joined with their auctions in category 10 (state bounded as in queries.ts). */
  static final class Q3 extends KeyedCoProcessFunction<Long, Event, Event, Output> {
    private final double killAtMs;
    private transient ValueState<Event> seller;
    private transient ListState<Tuple2<Long, Long>> waiting;

    Q3(double killAtMs) {
      this.killAtMs = killAtMs;
    }

    @Override
    public void open(OpenContext context) {
      seller = getRuntimeContext().getState(new ValueStateDescriptor<>("seller", Event.class));
      waiting = getRuntimeContext().getListState(new ListStateDescriptor<>("waiting", Types.TUPLE(Types.LONG, Types.LONG)));
    }

    @Override
    public void processElement1(Event person, Context ctx, Collector<Output> out) throws Exception {
      Failure.check(getRuntimeContext(), killAtMs);
      seller.update(person);
      for (Tuple2<Long, Long> auction : waiting.get()) out.collect(new Output(q3Line(person.name, person.city, person.state, auction.f0), person.arrival));
      waiting.clear();
      ctx.timerService().registerEventTimeTimer(person.dateTime + PERSON_TTL_MS);
    }

    @Override
    public void processElement2(Event auction, Context ctx, Collector<Output> out) throws Exception {
      Failure.check(getRuntimeContext(), killAtMs);
      Event s = seller.value();
      if (s != null) {
        out.collect(new Output(q3Line(s.name, s.city, s.state, auction.id), auction.arrival));
      } else {
        waiting.add(Tuple2.of(auction.id, auction.dateTime));
        ctx.timerService().registerEventTimeTimer(auction.dateTime + AUCTION_WAIT_MS);
      }
    }

    @Override
    public void onTimer(long timestamp, OnTimerContext ctx, Collector<Output> out) throws Exception {
      Event s = seller.value();
      if (s != null && s.dateTime + PERSON_TTL_MS <= timestamp) seller.clear();
      List<Tuple2<Long, Long>> all = new ArrayList<>();
      for (Tuple2<Long, Long> auction : waiting.get()) all.add(auction);
      List<Tuple2<Long, Long>> still = new ArrayList<>();
      for (Tuple2<Long, Long> auction : all) if (auction.f1 + AUCTION_WAIT_MS > timestamp) still.add(auction);
      if (still.size() != all.size()) waiting.update(still);
    }
  }

  /** Q8 state of a seller in a window: the name if they registered in it, and whether they sold in it. */
  public static class Q8Window {
    public String name;
    public boolean sold;

    public Q8Window() {}

    Q8Window(String name, boolean sold) {
      this.name = name;
      this.sold = sold;
    }
  }

  /** Q8: people who opened an auction in the (10 s, tumbling) window they registered in. */
  static final class Q8 extends KeyedCoProcessFunction<Long, Event, Event, Output> {
    private final double killAtMs;
    private transient MapState<Long, Q8Window> windows;
    /** Arrival of the latest input, which timer output is charged to (as the TypeScript task's ingest time). */
    private transient double lastArrival;

    Q8(double killAtMs) {
      this.killAtMs = killAtMs;
    }

    @Override
    public void open(OpenContext context) {
      windows = getRuntimeContext().getMapState(new MapStateDescriptor<>("windows", Long.class, Q8Window.class));
    }

    /** Takes an input in: the failure check, its arrival, and the start of its window. */
    private long windowOf(Event event) {
      Failure.check(getRuntimeContext(), killAtMs);
      lastArrival = event.arrival;
      return event.dateTime - (event.dateTime % WINDOW_MS);
    }

    @Override
    public void processElement1(Event person, Context ctx, Collector<Output> out) throws Exception {
      long start = windowOf(person);
      Q8Window seen = windows.get(start);
      windows.put(start, new Q8Window(person.name, seen != null && seen.sold));
      if (seen == null) ctx.timerService().registerEventTimeTimer(start + WINDOW_MS - 1);
    }

    @Override
    public void processElement2(Event auction, Context ctx, Collector<Output> out) throws Exception {
      long start = windowOf(auction);
      Q8Window seen = windows.get(start);
      if (seen != null && seen.sold) return;
      windows.put(start, new Q8Window(seen != null ? seen.name : null, true));
      if (seen == null) ctx.timerService().registerEventTimeTimer(start + WINDOW_MS - 1);
    }

    @Override
    public void onTimer(long timestamp, OnTimerContext ctx, Collector<Output> out) throws Exception {
      long start = timestamp + 1 - WINDOW_MS;
      Q8Window seen = windows.get(start);
      windows.remove(start);
      if (seen != null && seen.name != null && seen.sold) {
        StringBuilder line = new StringBuilder(64).append("{\"id\":").append(ctx.getCurrentKey()).append(',');
        Json.field(line, "name", seen.name).append(",\"windowStart\":").append(start).append('}');
        out.collect(new Output(line.toString(), lastArrival));
      }
    }
  }
}
