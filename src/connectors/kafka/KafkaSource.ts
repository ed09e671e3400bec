/**
 * Flink's KafkaSource: every topic partition is a split; a split's state is its next offset (and, bounded,
 * its stopping offset), checkpointed as the source's split state, so a restore at any parallelism resumes
 * each partition exactly where the checkpoint was taken.
 *
 * Partitions are found by the readers themselves (Flink's enumerator runs in the JobManager and assigns
 * them; here every subtask computes the same assignment, Flink's getSplitOwner, from the same metadata):
 * a fresh job gives each subtask one "discovery" split that stands for its share of the partitions, which
 * turns into partition splits once the metadata has been read.
 */
import type { Source, SourceReader, SourceReaderContext } from '../../api/sources.js';
import type { FlinkSourceConnector, OffsetsDescriptor } from '../../core/FlinkConnector.js';
import { FlinkError } from '../../core/FlinkError.js';
import { decodeConsumerRecord } from './FlinkKafkaRecords.js';
import { describeTopics, splitOwner, timeoutOf } from './KafkaClients.js';
import { KafkaSourceReader } from './KafkaSourceReader.js';
import { OffsetsInitializer } from './OffsetsInitializer.js';
import { KafkaRecordDeserializationSchema, type DeserializationSchema } from './serialization.js';
import type { KafkaDiscoverySplit, KafkaPartitionSplit, KafkaSourceConfig, KafkaSourceSplit } from './KafkaSourceSplit.js';

export type { KafkaDiscoverySplit, KafkaPartitionSplit, KafkaSourceConfig, KafkaSourceSplit } from './KafkaSourceSplit.js';

export class KafkaSource<T> implements Source<T, KafkaSourceSplit> {
  readonly name: string;
  readonly bounded: boolean;
  /** Every partition has its own watermark generator and idleness (Flink's per-split watermarks). */
  readonly perSplitWatermarks = true;

  constructor(readonly config: KafkaSourceConfig<T>) {
    this.bounded = !!config.stopping;
    this.name = `KafkaSource(${config.topics?.join(',') ?? String(config.topicPattern)})`;
  }

  static builder<T = string>(): KafkaSourceBuilder<T> {
    return new KafkaSourceBuilder<T>();
  }

  initialSplits(parallelism: number): KafkaDiscoverySplit[] {
    return Array.from({ length: parallelism }, (_, owner) => ({ id: `discover-${owner}-of-${parallelism}`, discover: { owner, of: parallelism } }));
  }

  /**
   * After a restore (any parallelism) every partition goes to its getSplitOwner, with the offset the
   * checkpoint recorded; shares not yet discovered become this subtask's share of the new parallelism.
   */
  assignSplits(all: KafkaSourceSplit[], subtask: number, parallelism: number): KafkaSourceSplit[] {
    const mine: KafkaSourceSplit[] = all.filter((s): s is KafkaPartitionSplit => !('discover' in s) && splitOwner(s.topic, s.partition, parallelism) === subtask);
    if (all.some((s) => 'discover' in s)) mine.unshift({ id: `discover-${subtask}-of-${parallelism}`, discover: { owner: subtask, of: parallelism } });
    return mine;
  }

  createReader(ctx: SourceReaderContext): SourceReader<T, KafkaSourceSplit> {
    return new KafkaSourceReader<T>(this.config, ctx);
  }

  /**
   * Flink's KafkaSource with the same servers, topics or pattern, group id, starting and stopping offsets and
   * properties (isolation.level, partition.discovery.interval.ms, ...); offsets are then Flink's split state.
   * Each raw record is the whole consumer record (FlinkKafkaRecords); the user's deserializer runs here.
   */
  toFlinkConnector(): FlinkSourceConnector<T> {
    const c = this.config;
    const deserializer = c.deserializer;
    return {
      descriptor: {
        type: 'kafka-source', name: this.name, bootstrapServers: c.bootstrapServers,
        ...(c.topics ? { topics: [...c.topics] } : { topicPattern: { source: c.topicPattern!.source, flags: c.topicPattern!.flags } }),
        ...(c.groupId !== undefined ? { groupId: c.groupId } : {}),
        startingOffsets: offsetsDescriptor(c.starting),
        ...(c.stopping ? { stoppingOffsets: offsetsDescriptor(c.stopping) } : {}),
        properties: { ...c.properties },
      },
      decode: (raw, collect) => deserializer.deserialize(decodeConsumerRecord(raw), { collect }),
    };
  }

  /** The brokers answer and the named topics exist, checked before the job is deployed. */
  async preflight(): Promise<void> {
    const timeout = timeoutOf(this.config.properties, 'request.timeout.ms', 15_000);
    await describeTopics(this.config.bootstrapServers, this.config.topics, timeout);
  }
}

function offsetsDescriptor(init: OffsetsInitializer): OffsetsDescriptor {
  const s = init.spec;
  return s.kind === 'committed' ? { kind: 'committed', reset: s.reset } : s.kind === 'timestamp' ? { kind: 'timestamp', timestamp: s.timestamp } : { kind: s.kind };
}

export class KafkaSourceBuilder<T> {
  private bootstrapServers?: string;
  private topics?: string[];
  private topicPattern?: RegExp;
  private groupId?: string;
  private starting = OffsetsInitializer.earliest();
  private stopping?: OffsetsInitializer;
  private deserializer?: KafkaRecordDeserializationSchema<T>;
  private readonly properties: Record<string, string> = {};

  setBootstrapServers(servers: string): this {
    this.bootstrapServers = servers;
    return this;
  }

  setTopics(...topics: (string | string[])[]): this {
    this.topics = topics.flat();
    this.topicPattern = undefined;
    return this;
  }

  setTopicPattern(pattern: RegExp): this {
    this.topicPattern = pattern;
    this.topics = undefined;
    return this;
  }

  setGroupId(groupId: string): this {
    this.groupId = groupId;
    return this;
  }

  setStartingOffsets(init: OffsetsInitializer): this {
    this.starting = init;
    return this;
  }

  /** Bounded: stop each partition at the offset `init` gives when it is assigned (latest(): the end at start). */
  setBounded(init: OffsetsInitializer): this {
    this.stopping = init;
    return this;
  }

  setValueOnlyDeserializer(schema: DeserializationSchema<T> | ((bytes: Buffer | null) => T)): this {
    this.deserializer = KafkaRecordDeserializationSchema.valueOnly(schema);
    return this;
  }

  setDeserializer(schema: KafkaRecordDeserializationSchema<T>): this {
    this.deserializer = schema;
    return this;
  }

  setProperty(key: string, value: string): this {
    this.properties[key] = String(value);
    if (key === 'bootstrap.servers') this.bootstrapServers = String(value);
    if (key === 'group.id') this.groupId = String(value);
    return this;
  }

  setProperties(props: Record<string, string>): this {
    for (const [k, v] of Object.entries(props)) this.setProperty(k, v);
    return this;
  }

  build(): KafkaSource<T> {
    if (!this.bootstrapServers) throw new FlinkError('invalid-argument', 'KafkaSource: bootstrap servers must be set (setBootstrapServers)');
    if (!this.topics?.length && !this.topicPattern) throw new FlinkError('invalid-argument', 'KafkaSource: no topics (setTopics or setTopicPattern)');
    if (!this.deserializer) throw new FlinkError('invalid-argument', 'KafkaSource: no deserializer (setValueOnlyDeserializer or setDeserializer)');
    if (this.starting.spec.kind === 'committed' && !this.groupId) {
      throw new FlinkError('invalid-argument', 'KafkaSource: committedOffsets() needs a group id (setGroupId)');
    }
    if (this.stopping && this.stopping.spec.kind === 'committed') {
      throw new FlinkError('invalid-argument', 'KafkaSource: setBounded supports latest(), earliest() and timestamp()');
    }
    return new KafkaSource<T>({
      bootstrapServers: this.bootstrapServers,
      topics: this.topics,
      topicPattern: this.topicPattern,
      groupId: this.groupId,
      starting: this.starting,
      stopping: this.stopping,
      deserializer: this.deserializer,
      properties: { ...this.properties },
    });
  }
}
