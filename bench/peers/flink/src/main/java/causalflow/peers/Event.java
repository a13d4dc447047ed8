package causalflow.peers;

/**
 * One Nexmark event (`bench/nexmark/model.ts`), flattened into one POJO with a kind, so that Flink
 * serialises it with its POJO serialiser. Only the fields of the event's kind are set.
 */
public class Event {
  /** Event kinds, as `kind` holds them. */
  public static final int PERSON = 0, AUCTION = 1, BID = 2;

  public int kind;
  /** Wall-clock ms at which the paced source was due to emit the event: latency is measured from it. */
  public double arrival;
  public long dateTime;
  public String extra;
  // Person (id also of an auction).
  public long id;
  public String name;
  public String emailAddress;
  public String creditCard;
  public String city;
  public String state;
  // Auction.
  public String itemName;
  public String description;
  public long initialBid;
  public long reserve;
  public long expires;
  public long seller;
  public long category;
  // Bid.
  public long auction;
  public long bidder;
  public long price;
  public String channel;
  public String url;

  public Event() {}

  /** The event as `JSON.stringify` prints the TypeScript generator's object (same keys, same order). */
  public String toJson() {
    StringBuilder out = new StringBuilder(160);
    switch (kind) {
      case PERSON -> {
        out.append("{\"kind\":\"person\",\"id\":").append(id).append(",");
        Json.field(out, "name", name).append(",");
        Json.field(out, "emailAddress", emailAddress).append(",");
        Json.field(out, "creditCard", creditCard).append(",");
        Json.field(out, "city", city).append(",");
        Json.field(out, "state", state);
        out.append(",\"dateTime\":").append(dateTime).append(",");
        Json.field(out, "extra", extra).append("}");
      }
      case AUCTION -> {
        out.append("{\"kind\":\"auction\",\"id\":").append(id).append(",");
        Json.field(out, "itemName", itemName).append(",");
        Json.field(out, "description", description);
        out.append(",\"initialBid\":").append(initialBid).append(",\"reserve\":").append(reserve)
            .append(",\"dateTime\":").append(dateTime).append(",\"expires\":").append(expires)
            .append(",\"seller\":").append(seller).append(",\"category\":").append(category).append(",");
        Json.field(out, "extra", extra).append("}");
      }
      default -> {
        out.append("{\"kind\":\"bid\",\"auction\":").append(auction).append(",\"bidder\":").append(bidder)
            .append(",\"price\":").append(price).append(",");
        Json.field(out, "channel", channel).append(",");
        Json.field(out, "url", url);
        out.append(",\"dateTime\":").append(dateTime).append(",");
        Json.field(out, "extra", extra).append("}");
      }
    }
    return out.toString();
  }
}
