/**
 * The raw Kafka records between Flink's Kafka connector and the JavaScript worker (the layouts of
 * docs/flink-runner.md, "Connectors"; jvm/flink-runner's RawKafkaRecords writes and reads the same).
 * Big-endian; a length of -1 is a null key or value.
 *   source: int32 topic length, topic (UTF-8), int32 partition, int64 offset, int64 timestamp,
 *           int32 key length, key, int32 value length, value
 *   sink:   int32 key length, key, int32 value length, value (the topic is the descriptor's)
 */
import { asBuffer } from '../../core/FlinkConnector.js';
import type { ConsumerRecord } from './serialization.js';

export function decodeConsumerRecord(raw: Uint8Array): ConsumerRecord {
  const b = asBuffer(raw);
  let at = 0;
  const topicLength = b.readInt32BE(at);
  const topic = b.toString('utf8', 4, 4 + topicLength);
  at = 4 + topicLength;
  const partition = b.readInt32BE(at);
  const offset = Number(b.readBigInt64BE(at + 4));
  const timestamp = Number(b.readBigInt64BE(at + 12));
  at += 20;
  const keyLength = b.readInt32BE(at);
  at += 4;
  const key = keyLength < 0 ? null : b.subarray(at, at + keyLength);
  at += Math.max(0, keyLength);
  const valueLength = b.readInt32BE(at);
  at += 4;
  const value = valueLength < 0 ? null : b.subarray(at, at + valueLength);
  if (at + Math.max(0, valueLength) !== b.length) throw new RangeError(`Kafka source record: ${b.length} bytes, the layout says ${at + Math.max(0, valueLength)}`);
  return { topic, partition, offset, timestamp, key, value };
}

export function encodeConsumerRecord(r: ConsumerRecord): Buffer {
  const topic = Buffer.from(r.topic, 'utf8');
  const b = Buffer.allocUnsafe(4 + topic.length + 20 + 8 + (r.key?.length ?? 0) + (r.value?.length ?? 0));
  let at = b.writeInt32BE(topic.length, 0);
  at += topic.copy(b, at);
  at = b.writeInt32BE(r.partition, at);
  at = b.writeBigInt64BE(BigInt(r.offset), at);
  at = b.writeBigInt64BE(BigInt(r.timestamp), at);
  at = putBytes(b, at, r.key);
  putBytes(b, at, r.value);
  return b;
}

export function encodeProducerRecord(key: Buffer | null | undefined, value: Buffer | null | undefined): Buffer {
  const b = Buffer.allocUnsafe(8 + (key?.length ?? 0) + (value?.length ?? 0));
  putBytes(b, putBytes(b, 0, key), value);
  return b;
}

export function decodeProducerRecord(raw: Uint8Array): { key: Buffer | null; value: Buffer | null } {
  const b = asBuffer(raw);
  const keyLength = b.readInt32BE(0);
  const key = keyLength < 0 ? null : b.subarray(4, 4 + keyLength);
  const at = 4 + Math.max(0, keyLength);
  const valueLength = b.readInt32BE(at);
  const value = valueLength < 0 ? null : b.subarray(at + 4, at + 4 + valueLength);
  return { key, value };
}

function putBytes(b: Buffer, at: number, v: Buffer | null | undefined): number {
  if (v === null || v === undefined) return b.writeInt32BE(-1, at);
  at = b.writeInt32BE(v.length, at);
  return at + v.copy(b, at);
}
