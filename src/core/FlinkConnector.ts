/**
 * How a source or sink runs as Flink's own connector when the job runs on a Flink cluster (the runner): the
 * descriptor goes into the plan node as "connector" and jvm/flink-runner's Connectors builds the connector
 * from it; records cross between Flink and the JavaScript worker as raw bytes in the layouts of
 * docs/flink-runner.md ("Connectors"). decode and encode run the user's own code (deserializers, generators,
 * encoders) on the JavaScript side, so the connector's positions stay in Flink's split state.
 */

/** Where a Kafka source starts or stops, as Flink's OffsetsInitializer factory methods name it. */
export type OffsetsDescriptor =
  | { kind: 'earliest' }
  | { kind: 'latest' }
  | { kind: 'committed'; reset: 'EARLIEST' | 'LATEST' | 'NONE' }
  | { kind: 'timestamp'; timestamp: number };

export interface KafkaSourceDescriptor {
  type: 'kafka-source';
  name: string;
  bootstrapServers: string;
  topics?: string[];
  /** A JavaScript RegExp's source and flags; matched anywhere in the topic name, as RegExp.test does. */
  topicPattern?: { source: string; flags: string };
  groupId?: string;
  startingOffsets: OffsetsDescriptor;
  /** Present: bounded (KafkaSourceBuilder.setBounded). */
  stoppingOffsets?: OffsetsDescriptor;
  /** Passed to KafkaSourceBuilder.setProperties: consumer settings (isolation.level, ...) and Flink's source options. */
  properties: Record<string, string>;
}

export interface KafkaSinkDescriptor {
  type: 'kafka-sink';
  name: string;
  bootstrapServers: string;
  topic: string;
  deliveryGuarantee: 'EXACTLY_ONCE' | 'AT_LEAST_ONCE' | 'NONE';
  transactionalIdPrefix: string;
  /** The producer's settings (KafkaSinkBuilder.setKafkaProducerConfig). */
  properties: Record<string, string>;
  /** 'producer': the producer stamps each record (as flink-ts' own sink does); 'record': the Flink record's timestamp. */
  timestamps: 'producer' | 'record';
}

export interface FileSourceDescriptor {
  type: 'file-source';
  name: string;
  /** Files or directories (every non-hidden file in them), as Flink Paths. */
  paths: string[];
}

export interface FileSinkDescriptor {
  type: 'file-sink';
  name: string;
  basePath: string;
  /** 'on-checkpoint': Flink's OnCheckpointRollingPolicy; 'default': DefaultRollingPolicy (sizes in bytes, times in ms). */
  rolling: { kind: 'on-checkpoint' } | { kind: 'default'; partSize?: number; rolloverInterval?: number; inactivityInterval?: number };
  outputFileConfig: { partPrefix: string; partSuffix: string };
}

/** Flink's DataGeneratorSource over indexes from .. from + count - 1; count null: unbounded (Long.MAX_VALUE). */
export interface DataGeneratorDescriptor {
  type: 'data-generator';
  name: string;
  from: number;
  count: number | null;
  /** Shared by the source's subtasks (Flink's RateLimiterStrategy.perSecond); null: no limit. */
  recordsPerSecond: number | null;
  /** The source runs with parallelism 1. */
  nonParallel: boolean;
}

/** fromElements (the runner core's own: Flink's fromData over the elements' V8 bytes, base64). */
export interface ElementsDescriptor {
  type: 'elements';
  elements: string[];
}

export type SourceDescriptor = KafkaSourceDescriptor | FileSourceDescriptor | DataGeneratorDescriptor | ElementsDescriptor;
export type SinkDescriptor = KafkaSinkDescriptor | FileSinkDescriptor;

export interface FlinkSourceConnector<T> {
  readonly descriptor: SourceDescriptor;
  /** One raw record of the connector into any number of the job's records; absent: the bytes are one V8-serialized record. */
  decode?(raw: Uint8Array, collect: (value: T) => void): void;
}

export interface FlinkSinkConnector<T> {
  readonly descriptor: SinkDescriptor;
  /** One of the job's records into the raw record Flink's sink writes; absent: its V8 serialization. */
  encode?(value: T): Uint8Array;
}

/** The raw record of a data-generator descriptor: the index as a big-endian int64. */
export function decodeIndex(raw: Uint8Array): number {
  if (raw.length !== 8) throw new RangeError(`data-generator record: expected 8 bytes, got ${raw.length}`);
  return Number(new DataView(raw.buffer, raw.byteOffset, 8).getBigInt64(0));
}

export function encodeIndex(index: number): Uint8Array {
  const b = new Uint8Array(8);
  new DataView(b.buffer).setBigInt64(0, BigInt(index));
  return b;
}

/** Bytes as a Buffer without copying (Flink's byte[] arrive as Uint8Array views of a batch). */
export function asBuffer(raw: Uint8Array): Buffer {
  return Buffer.isBuffer(raw) ? raw : Buffer.from(raw.buffer, raw.byteOffset, raw.byteLength);
}
