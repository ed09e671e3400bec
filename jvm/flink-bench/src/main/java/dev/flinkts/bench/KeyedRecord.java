package dev.flinkts.bench;

/** The keyed scenario's record, as bench/lib/nexmark.ts's KeyedRecord (a POJO). */
public class KeyedRecord {
    public String key;
    public long sum;

    public KeyedRecord() {}

    public KeyedRecord(String key, long sum) {
        this.key = key;
        this.sum = sum;
    }
}
