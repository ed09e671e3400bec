package dev.flinkts.bench;

/**
 * The records of bench/lib/nexmark.ts, bit for bit: the same index-to-record functions, in the same 32-bit
 * integer arithmetic (JavaScript's Math.imul and >>> are Java's int * and >>>), so that both engines process
 * exactly the same input. {@link #checksums} is compared with bench/lib/generatorChecksum.ts.
 */
public final class Generators {
    private Generators() {}

    /** Date.UTC(2026, 0, 1). */
    static final long BASE_TIME = 1767225600000L;

    /** Murmur3's finalizer over the index as a 32-bit integer, as an unsigned value. */
    static long mix(long index) {
        int i = (int) index;
        int h = (i ^ (i >>> 16)) * 0x85ebca6b;
        h = (h ^ (h >>> 13)) * 0xc2b2ae35;
        return (h ^ (h >>> 16)) & 0xffffffffL;
    }

    public static Bid bid(long i) {
        long h = mix(i);
        return new Bid(1000 + (h % 10_000), 1000 + ((h >>> 7) % 100_000), 100 + (h >>> 11), BASE_TIME + i);
    }

    /** Nexmark q1: the price in euros. */
    public static Bid toEuro(Bid b) {
        return new Bid(b.auction, b.bidder, (long) Math.floor(b.price * 0.908), b.dateTime);
    }

    /** Nexmark q2: the bids of a few auctions. */
    public static boolean selectedAuction(Bid b) {
        return b.auction % 123 == 0;
    }

    public static KeyedRecord keyedRecord(long i, long keys) {
        return new KeyedRecord("key-" + (i % keys), 1);
    }

    // FNV-1a over 32-bit words.
    private static int fnv(int h, long word) {
        return (h ^ (int) word) * 0x01000193;
    }

    private static int fnvBid(int h, Bid b) {
        h = fnv(h, b.auction);
        h = fnv(h, b.bidder);
        h = fnv(h, b.price);
        h = fnv(h, b.dateTime);
        return fnv(h, b.dateTime >>> 32);
    }

    /** Checksums of the first n records of each input and query output, as JSON. */
    public static String checksums(long n, long keys) {
        int keyed = 0x811c9dc5, bids = 0x811c9dc5, q1 = 0x811c9dc5, q2 = 0x811c9dc5;
        for (long i = 0; i < n; i++) {
            KeyedRecord r = keyedRecord(i, keys);
            for (int c = 0; c < r.key.length(); c++) keyed = fnv(keyed, r.key.charAt(c));
            keyed = fnv(keyed, r.sum);
            Bid b = bid(i);
            bids = fnvBid(bids, b);
            q1 = fnvBid(q1, toEuro(b));
            if (selectedAuction(b)) q2 = fnvBid(q2, b);
        }
        return String.format("{\"records\":%d,\"keys\":%d,\"keyed\":%d,\"bids\":%d,\"q1\":%d,\"q2\":%d}",
                n, keys, keyed & 0xffffffffL, bids & 0xffffffffL, q1 & 0xffffffffL, q2 & 0xffffffffL);
    }
}
