/**
 * What a KafkaSource's splits and settings are, apart from the source and its reader (both name them): a
 * split is a partition and its next offset, or a subtask's share of partitions not yet discovered.
 */
import type { SourceSplit } from '../../api/sources.js';
import type { OffsetsInitializer } from './OffsetsInitializer.js';
import type { KafkaRecordDeserializationSchema } from './serialization.js';

/** A partition: its next offset to emit; bounded sources also carry where to stop (exclusive). */
export interface KafkaPartitionSplit extends SourceSplit {
  topic: string;
  partition: number;
  /** Next offset to read; -1 until the starting offset is resolved. */
  offset: number;
  stoppingOffset?: number;
  /** Found by the periodic partition discovery: starts at the earliest offset, not the starting offsets. */
  startFromEarliest?: boolean;
}

/** The share `owner`/`of` of all partitions, before their metadata was read. */
export interface KafkaDiscoverySplit extends SourceSplit {
  discover: { owner: number; of: number };
}

export type KafkaSourceSplit = KafkaPartitionSplit | KafkaDiscoverySplit;

export interface KafkaSourceConfig<T> {
  bootstrapServers: string;
  topics?: string[];
  topicPattern?: RegExp;
  groupId?: string;
  starting: OffsetsInitializer;
  stopping?: OffsetsInitializer;
  deserializer: KafkaRecordDeserializationSchema<T>;
  properties: Record<string, string>;
}
