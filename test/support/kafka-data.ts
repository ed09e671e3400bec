/**
 * Test data on a real broker: topics, input records, and the whole content of a topic as a consumer with
 * a given isolation level sees it (read through the KafkaSource's reader, bounded at the topic's current end:
 * the last stable offset for read_committed, the high watermark for read_uncommitted).
 */
import { Admin, Producer, stringSerializers } from '@platformatic/kafka';
import { KafkaSource } from '../../src/connectors/kafka/KafkaSource.js';
import { OffsetsInitializer } from '../../src/connectors/kafka/OffsetsInitializer.js';
import { SimpleStringSchema } from '../../src/connectors/kafka/serialization.js';

export async function createTopics(bootstrap: string, topics: string[], partitions: number): Promise<void> {
  const admin = new Admin({ clientId: 'test-admin', bootstrapBrokers: [bootstrap] });
  try {
    await admin.createTopics({ topics, partitions, replicas: 1 });
  } finally {
    await admin.close();
  }
}

/** The topic's partitions become `count` (Kafka only adds partitions). */
export async function addPartitions(bootstrap: string, topic: string, count: number): Promise<void> {
  const admin = new Admin({ clientId: 'test-admin', bootstrapBrokers: [bootstrap] });
  try {
    await admin.createPartitions({ topics: [{ name: topic, count }] });
  } finally {
    await admin.close();
  }
}

/**
 * Sends `values` (keyed by themselves, so a word always lands in one partition, or all to `partition`) in
 * batches.
 */
export async function produce(bootstrap: string, topic: string, values: string[], partition?: number, batch = 1000): Promise<void> {
  const p = new Producer({ clientId: 'test-producer', bootstrapBrokers: [bootstrap], serializers: stringSerializers, acks: -1, idempotent: true });
  try {
    for (let i = 0; i < values.length; i += batch) {
      await p.send({ messages: values.slice(i, i + batch).map((v) => ({ topic, key: v, value: v, ...(partition !== undefined && { partition }) })) });
    }
  } finally {
    await p.close();
  }
}

export async function readTopic(bootstrap: string, topic: string, isolation: 'read_committed' | 'read_uncommitted', timeoutMs = 60_000): Promise<string[]> {
  const source = KafkaSource.builder<string>()
    .setBootstrapServers(bootstrap)
    .setTopics(topic)
    .setStartingOffsets(OffsetsInitializer.earliest())
    .setBounded(OffsetsInitializer.latest())
    .setValueOnlyDeserializer(new SimpleStringSchema())
    .setProperty('isolation.level', isolation)
    .build();
  const reader = source.createReader({ subtask: 0, parallelism: 1 });
  reader.addSplits(source.initialSplits(1));
  const out: string[] = [];
  const deadline = Date.now() + timeoutMs;
  try {
    for (;;) {
      const r = reader.pollNext((v) => out.push(v), 10_000);
      if (r === 'end') return out;
      if (Date.now() > deadline) throw new Error(`Reading ${topic} (${isolation}) did not reach its end within ${timeoutMs} ms (${out.length} records so far)`);
      if (r > 0) await new Promise((res) => setTimeout(res, r));
    }
  } finally {
    reader.close?.();
  }
}

/** The model of KafkaCountJob's output: for a word seen n times, word:1 … word:n, sorted. */
export function expectedCounts(words: string[]): string[] {
  const n = new Map<string, number>();
  const out: string[] = [];
  for (const w of words) {
    const c = (n.get(w) ?? 0) + 1;
    n.set(w, c);
    out.push(`${w}:${c}`);
  }
  return out.sort();
}
