package causalflow.peers;

/**
 * Port of `bench/nexmark/generator.ts`: event number n ↦ one event, the same event, field for field and
 * draw for draw, as the TypeScript generator makes for the same seed (a test compares their output
 * byte for byte). Every arithmetic step mirrors the TypeScript one: 32-bit integer mixing where it uses
 * `Math.imul` and `|`/`>>>`, IEEE doubles where it uses plain numbers. Only the settings the benchmarks
 * vary are parameters; the others keep the TypeScript defaults.
 */
public final class NexmarkGenerator {
  // DEFAULT_NEXMARK_CONFIG of generator.ts.
  private static final int PERSON_PROPORTION = 1;
  private static final int AUCTION_PROPORTION = 3;
  private static final int BID_PROPORTION = 46;
  private static final long FIRST_PERSON_ID = 1000;
  private static final long FIRST_AUCTION_ID = 1000;
  private static final long FIRST_CATEGORY_ID = 10;
  private static final int NUM_CATEGORIES = 5;
  private static final int HOT_AUCTION_RATIO = 2;
  private static final int HOT_SELLERS_RATIO = 4;
  private static final int HOT_BIDDERS_RATIO = 4;
  private static final long NUM_ACTIVE_PEOPLE = 1000;
  private static final long NUM_IN_FLIGHT_AUCTIONS = 100;
  private static final long PERSON_ID_LEAD = 10;
  private static final long AUCTION_ID_LEAD = 10;
  private static final long HOT_ID_BATCH = 100;
  private static final int COLD_CHANNELS = 10_000;
  private static final String[] HOT_CHANNELS = {"Google", "Facebook", "Baidu", "Apple"};
  private static final String[] US_STATES = {"AZ", "CA", "ID", "OR", "WA", "WY"};
  private static final String[] US_CITIES = {"Phoenix", "Los Angeles", "San Francisco", "Boise", "Portland", "Bend", "Redmond", "Seattle", "Kent", "Cheyenne"};
  private static final String[] FIRST_NAMES = {"Peter", "Paul", "Luke", "John", "Saul", "Vicky", "Kate", "Julie", "Sarah", "Deiter", "Walter"};
  private static final String[] LAST_NAMES = {"Shultz", "Abrams", "Spencer", "White", "Bartels", "Walton", "Smith", "Jones", "Noris"};
  private static final int POOL_SIZE = 1024;
  private static final int POOL_MASK = POOL_SIZE - 1;
  private static final int EXTRA_POOL_SIZE = 64;
  private static final double TWO_POW_32 = 4294967296.0;
  private static final long SMALL_BOUND = 0x100000;
  private static final double[] POWER_HIGH = powerTable(1024, 10);
  private static final double[] POWER_MIDDLE = powerTable(2048, 21);
  private static final double[] POWER_LOW = powerTable(2048, 32);
  // PoolTag of generator.ts.
  private static final int ITEM_NAME = 1, DESCRIPTION = 2, EMAIL = 3, CREDIT_CARD = 4, EXTRA = 5, HOT_URL = 6, COLD_CHANNEL = 7;

  private final long seed;
  private final double eventRate;
  private final long baseTime;
  private final int cycle = PERSON_PROPORTION + AUCTION_PROPORTION + BID_PROPORTION;
  private final long eventsPerInFlightAuctions = (long) Math.floor((double) (NUM_IN_FLIGHT_AUCTIONS * cycle) / AUCTION_PROPORTION);
  private final int seedKey;
  private int state;

  private final String[] personNames;
  private final String[] itemNames;
  private final String[] descriptions;
  private final String[] emails;
  private final String[] creditCards;
  private final String[] extras;
  private final int extraMask;
  private final String[] hotUrls;
  private final String[] coldChannelNames = new String[COLD_CHANNELS];
  private final String[] coldChannelUrls = new String[COLD_CHANNELS];

  /** A generator for `seed`, `eventRate` events per second of event time from `baseTime`, `extra` fields `extraLength` long. */
  public NexmarkGenerator(long seed, double eventRate, long baseTime, int extraLength) {
    this.seed = seed;
    this.eventRate = eventRate;
    this.baseTime = baseTime;
    this.seedKey = key32(seed, 0x4e58);
    personNames = new String[FIRST_NAMES.length * LAST_NAMES.length];
    int i = 0;
    for (String first : FIRST_NAMES) for (String last : LAST_NAMES) personNames[i++] = first + " " + last;
    itemNames = pool(POOL_SIZE, seed, ITEM_NAME, r -> randomString(r, 20, ' '));
    descriptions = pool(POOL_SIZE, seed, DESCRIPTION, r -> randomString(r, 100, ' '));
    emails = pool(POOL_SIZE, seed, EMAIL, r -> randomString(r, 7, ' ') + "@" + randomString(r, 5, ' ') + ".com");
    creditCards = pool(POOL_SIZE, seed, CREDIT_CARD, NexmarkGenerator::creditCard);
    extras = extraLength == 0 ? new String[] {""} : pool(EXTRA_POOL_SIZE, seed, EXTRA, r -> exactString(r, extraLength));
    extraMask = extras.length - 1;
    hotUrls = pool(HOT_CHANNELS.length, seed, HOT_URL, NexmarkGenerator::randomUrl);
  }

  private static double[] powerTable(int size, int shift) {
    double[] table = new double[size];
    for (int i = 0; i < size; i++) table[i] = StrictMath.pow(10, (6.0 * i) / Math.pow(2, shift));
    return table;
  }

  /** murmur3's 32-bit finaliser, as generator.ts's `mix32`. */
  static int mix32(int x) {
    x = (x ^ (x >>> 16)) * 0x85ebca6b;
    x = (x ^ (x >>> 13)) * 0xc2b2ae35;
    return x ^ (x >>> 16);
  }

  /** generator.ts's `key32`: a 32-bit key of a safe integer and a salt. */
  static int key32(long value, int salt) {
    long high = Math.floorDiv(value, 1L << 32);
    return mix32((int) value ^ mix32((int) high ^ mix32(salt)));
  }

  private interface Maker {
    String make(SeededRandom random);
  }

  private static String[] pool(int size, long seed, int tag, Maker make) {
    SeededRandom random = new SeededRandom(key32(seed, tag));
    String[] strings = new String[size];
    for (int i = 0; i < size; i++) strings[i] = make.make(random);
    return strings;
  }

  private static String randomString(SeededRandom random, int maxLength, char space) {
    int length = 3 + random.nextInt(maxLength - 3);
    StringBuilder text = new StringBuilder(length);
    for (int i = 0; i < length; i++) text.append(random.nextInt(13) == 0 ? space : (char) (97 + random.nextInt(26)));
    return space == ' ' ? text.toString().trim() : text.toString();
  }

  private static String exactString(SeededRandom random, int length) {
    StringBuilder text = new StringBuilder(length);
    for (int i = 0; i < length; i++) text.append((char) (97 + random.nextInt(26)));
    return text.toString();
  }

  private static String randomUrl(SeededRandom random) {
    return "https://www.nexmark.com/" + randomString(random, 5, '_') + "/" + randomString(random, 5, '_') + "/" + randomString(random, 5, '_') + "/item.htm?query=1";
  }

  private static String creditCard(SeededRandom random) {
    StringBuilder card = new StringBuilder(19);
    for (int i = 0; i < 4; i++) {
      if (i > 0) card.append(' ');
      card.append(String.format("%04d", random.nextInt(10000)));
    }
    return card.toString();
  }

  /** Event time of event n (ms). */
  public long eventTime(long n) {
    return baseTime + (long) Math.floor(((double) n * 1000) / eventRate);
  }

  /** Event number n. */
  public Event event(long n) {
    begin(n);
    long time = eventTime(n);
    long epoch = Math.floorDiv(n, cycle);
    long offset = n - epoch * cycle;
    long lastPerson = lastBase0PersonId(epoch, offset);
    if (offset < PERSON_PROPORTION) return person(time, lastPerson);
    long lastAuction = lastBase0AuctionId(epoch, offset);
    if (offset < PERSON_PROPORTION + AUCTION_PROPORTION) return auction(n, time, lastPerson, lastAuction);
    return bid(time, lastPerson, lastAuction);
  }

  private Event person(long time, long id) {
    Event e = new Event();
    e.kind = Event.PERSON;
    e.id = id + FIRST_PERSON_ID;
    e.name = personNames[below(personNames.length)];
    e.emailAddress = emails[(int) (next32() & POOL_MASK)];
    e.creditCard = creditCards[(int) (next32() & POOL_MASK)];
    e.city = US_CITIES[below(US_CITIES.length)];
    e.state = US_STATES[below(US_STATES.length)];
    e.dateTime = time;
    e.extra = extras[(int) (next32() & extraMask)];
    return e;
  }

  private Event auction(long n, long time, long lastPerson, long id) {
    Event e = new Event();
    e.kind = Event.AUCTION;
    long seller = below(HOT_SELLERS_RATIO) > 0 ? Math.floorDiv(lastPerson, HOT_ID_BATCH) * HOT_ID_BATCH : nextBase0PersonId(lastPerson);
    e.category = FIRST_CATEGORY_ID + below(NUM_CATEGORIES);
    e.initialBid = price();
    long horizon = eventTime(n + eventsPerInFlightAuctions) - time;
    e.expires = time + 1 + below(Math.max(horizon * 2, 1));
    e.id = id + FIRST_AUCTION_ID;
    // The order of the draws is the order of the TypeScript object literal's fields.
    e.itemName = itemNames[(int) (next32() & POOL_MASK)];
    e.description = descriptions[(int) (next32() & POOL_MASK)];
    e.reserve = e.initialBid + price();
    e.dateTime = time;
    e.seller = seller + FIRST_PERSON_ID;
    e.extra = extras[(int) (next32() & extraMask)];
    return e;
  }

  private Event bid(long time, long lastPerson, long lastAuction) {
    Event e = new Event();
    e.kind = Event.BID;
    long auction = below(HOT_AUCTION_RATIO) > 0 ? Math.floorDiv(lastAuction, HOT_ID_BATCH) * HOT_ID_BATCH : nextBase0AuctionId(lastAuction);
    long bidder = below(HOT_BIDDERS_RATIO) > 0 ? Math.floorDiv(lastPerson, HOT_ID_BATCH) * HOT_ID_BATCH + 1 : nextBase0PersonId(lastPerson);
    e.price = price();
    if (below(2) > 0) {
      int hot = (int) below(HOT_CHANNELS.length);
      e.channel = HOT_CHANNELS[hot];
      e.url = hotUrls[hot];
    } else {
      int cold = (int) below(COLD_CHANNELS);
      if (coldChannelNames[cold] == null) buildColdChannel(cold);
      e.channel = coldChannelNames[cold];
      e.url = coldChannelUrls[cold];
    }
    e.auction = auction + FIRST_AUCTION_ID;
    e.bidder = bidder + FIRST_PERSON_ID;
    e.dateTime = time;
    e.extra = extras[(int) (next32() & extraMask)];
    return e;
  }

  private void buildColdChannel(int k) {
    SeededRandom random = new SeededRandom(key32(seed, COLD_CHANNEL ^ ((k + 1) * 0x9e3779b9)));
    String url = randomUrl(random);
    // Math.abs of a 32-bit value in doubles: the reversal of 1 is -2^31, whose absolute value an int cannot hold.
    if (random.nextInt(10) > 0) url += "&channel_id=" + Math.abs((long) Integer.reverse(k));
    coldChannelNames[k] = "channel-" + k;
    coldChannelUrls[k] = url;
  }

  private long lastBase0PersonId(long epoch, long offset) {
    return epoch * PERSON_PROPORTION + (offset >= PERSON_PROPORTION ? PERSON_PROPORTION - 1 : offset);
  }

  private long lastBase0AuctionId(long epoch, long offset) {
    if (offset < PERSON_PROPORTION) return epoch * AUCTION_PROPORTION - 1;
    if (offset >= PERSON_PROPORTION + AUCTION_PROPORTION) return epoch * AUCTION_PROPORTION + AUCTION_PROPORTION - 1;
    return epoch * AUCTION_PROPORTION + offset - PERSON_PROPORTION;
  }

  private long nextBase0PersonId(long lastPerson) {
    long people = lastPerson + 1;
    long active = Math.min(people, NUM_ACTIVE_PEOPLE);
    return people - active + below(active + PERSON_ID_LEAD);
  }

  private long nextBase0AuctionId(long lastAuction) {
    long first = Math.max(lastAuction - NUM_IN_FLIGHT_AUCTIONS, 0);
    return first + below(lastAuction - first + 1 + AUCTION_ID_LEAD);
  }

  private long price() {
    long u = next32();
    return Math.round(POWER_HIGH[(int) (u >>> 22)] * POWER_MIDDLE[(int) ((u >>> 11) & 0x7ff)] * POWER_LOW[(int) (u & 0x7ff)] * 100);
  }

  private void begin(long n) {
    int s = (int) n ^ seedKey ^ (n >= (1L << 32) ? mix32((int) (n >>> 32)) : 0);
    state = mix32(s);
  }

  private long next32() {
    state = state + 0x9e3779b9;
    return mix32(state) & 0xffffffffL;
  }

  private int below(int bound) {
    return (int) below((long) bound);
  }

  private long below(long bound) {
    if (bound <= SMALL_BOUND) return (long) Math.floor((next32() * bound) / TWO_POW_32);
    long high = next32();
    double fraction = ((double) high * 2097152 + (next32() >>> 11)) / 9007199254740992.0;
    return Math.min((long) Math.floor(fraction * bound), bound - 1);
  }
}
