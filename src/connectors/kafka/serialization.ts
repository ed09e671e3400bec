/** Flink's SimpleStringSchema: UTF-8 text both ways. */
export class SimpleStringSchema {
  deserialize(bytes: Buffer | null): string {
    return bytes === null ? '' : bytes.toString('utf8');
  }
  serialize(value: string): Buffer {
    return Buffer.from(String(value), 'utf8');
  }
}

export interface DeserializationSchema<T> {
  deserialize(bytes: Buffer | null): T;
}
export interface SerializationSchema<T> {
  serialize(value: T): Buffer | string | null;
}

/** A Kafka record as a KafkaRecordDeserializationSchema sees it. */
export interface ConsumerRecord {
  topic: string;
  partition: number;
  offset: number;
  timestamp: number;
  key: Buffer | null;
  value: Buffer | null;
}

/** Flink's KafkaRecordDeserializationSchema: one record in, any number of values out. */
export interface KafkaRecordDeserializationSchema<T> {
  deserialize(record: ConsumerRecord, out: { collect(value: T): void }): void;
}

export const KafkaRecordDeserializationSchema = {
  valueOnly<T>(schema: DeserializationSchema<T> | ((bytes: Buffer | null) => T)): KafkaRecordDeserializationSchema<T> {
    const d = typeof schema === 'function' ? schema : (b: Buffer | null) => schema.deserialize(b);
    return { deserialize: (r, out) => out.collect(d(r.value)) };
  },
};

export function toBuffer(v: Buffer | string | null | undefined): Buffer | undefined {
  if (v === null || v === undefined) return undefined;
  return typeof v === 'string' ? Buffer.from(v, 'utf8') : v;
}
