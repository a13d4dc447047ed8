/**
 * The Nexmark event model: an online auction site where people register, open auctions and bid.
 *
 * Field names follow the Nexmark model of Apache Beam and of the Flink Nexmark suite (which adds `channel`
 * and `url` to bids), flattened into one plain object per event with a `kind` discriminant, so that an
 * event is encodable with msgpackr as it is and a query can `switch (event.kind)`. Every time is event
 * time in milliseconds since the epoch; every id and price is an integer.
 */

/** A person registered on the site. */
export interface Person {
  /** Discriminant. */
  readonly kind: 'person';
  /** Person id; the first person is {@link FIRST_PERSON_ID}. */
  readonly id: number;
  /** First and last name, e.g. "Julie Walton". */
  readonly name: string;
  /** E-mail address. */
  readonly emailAddress: string;
  /** Credit card number, four groups of four digits. */
  readonly creditCard: string;
  /** US city. */
  readonly city: string;
  /** US state code (one of six, so that state filters match often). */
  readonly state: string;
  /** When the person registered (event time, ms). */
  readonly dateTime: number;
  /** Padding; short or empty here (see `NexmarkConfig.extraLength`). */
  readonly extra: string;
}

/** An auction opened by a seller. */
export interface Auction {
  /** Discriminant. */
  readonly kind: 'auction';
  /** Auction id; the first auction is {@link FIRST_AUCTION_ID}. */
  readonly id: number;
  /** Name of the item sold. */
  readonly itemName: string;
  /** Description of the item. */
  readonly description: string;
  /** Opening price, in cents. */
  readonly initialBid: number;
  /** Reserve price, in cents; always above `initialBid`. */
  readonly reserve: number;
  /** When the auction opened (event time, ms). */
  readonly dateTime: number;
  /** When the auction closes (event time, ms); after `dateTime`. */
  readonly expires: number;
  /** Person id of the seller. */
  readonly seller: number;
  /** Category id, from {@link FIRST_CATEGORY_ID} on. */
  readonly category: number;
  /** Padding; short or empty here. */
  readonly extra: string;
}

/** A bid on an auction. */
export interface Bid {
  /** Discriminant. */
  readonly kind: 'bid';
  /** Auction id bid on. */
  readonly auction: number;
  /** Person id of the bidder. */
  readonly bidder: number;
  /** Price offered, in cents. */
  readonly price: number;
  /** Where the bid came from, e.g. "Google" or "channel-1234". */
  readonly channel: string;
  /** URL the bid was placed from; fixed per channel. */
  readonly url: string;
  /** When the bid was placed (event time, ms). */
  readonly dateTime: number;
  /** Padding; short or empty here. */
  readonly extra: string;
}

/** One Nexmark event. */
export type NexmarkEvent = Person | Auction | Bid;

/** Id of the first person. Ids start high so that queries filtering on small ids still match something. */
export const FIRST_PERSON_ID = 1000;

/** Id of the first auction. */
export const FIRST_AUCTION_ID = 1000;

/** Id of the first category. */
export const FIRST_CATEGORY_ID = 10;
