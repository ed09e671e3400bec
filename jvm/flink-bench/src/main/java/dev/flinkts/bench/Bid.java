package dev.flinkts.bench;

/** A Nexmark-style bid, as bench/lib/nexmark.ts's Bid (a POJO: Flink serializes it with its PojoSerializer). */
public class Bid {
    public long auction;
    public long bidder;
    public long price;
    public long dateTime;

    public Bid() {}

    public Bid(long auction, long bidder, long price, long dateTime) {
        this.auction = auction;
        this.bidder = bidder;
        this.price = price;
        this.dateTime = dateTime;
    }
}
