/**
 * Flink's KafkaSink: records go to a topic with a key and value serializer; DeliveryGuarantee decides what a
 * checkpoint means for them (see KafkaWriterOperator): EXACTLY_ONCE commits a transaction per subtask and
 * checkpoint when the checkpoint completes, AT_LEAST_ONCE flushes at every barrier, NONE fires and forgets.
 */
import type { Sink } from '../../api/sinks.js';
import type { PreflightContext } from '../../api/sources.js';
import type { FlinkSinkConnector } from '../../core/FlinkConnector.js';
import { FlinkError } from '../../core/FlinkError.js';
import { encodeProducerRecord } from './FlinkKafkaRecords.js';
import { describeTopics, timeoutOf } from './KafkaClients.js';
import { toBuffer, type SerializationSchema } from './serialization.js';

export const DeliveryGuarantee = { EXACTLY_ONCE: 'EXACTLY_ONCE', AT_LEAST_ONCE: 'AT_LEAST_ONCE', NONE: 'NONE' } as const;
export type DeliveryGuarantee = (typeof DeliveryGuarantee)[keyof typeof DeliveryGuarantee];

type Serializer<T> = SerializationSchema<T> | ((value: T) => Buffer | string | null);

export interface KafkaRecordSerializationSchema<T> {
  topic: string;
  serializeKey?: (value: T) => Buffer | string | null;
  serializeValue: (value: T) => Buffer | string | null;
}

function fn<T>(s: Serializer<T>): (value: T) => Buffer | string | null {
  return typeof s === 'function' ? s : (v: T) => s.serialize(v);
}

export class KafkaRecordSerializationSchemaBuilder<T> {
  private topic?: string;
  private key?: Serializer<T>;
  private value?: Serializer<T>;
  setTopic(topic: string): this {
    this.topic = topic;
    return this;
  }
  setKeySerializationSchema(schema: Serializer<T>): this {
    this.key = schema;
    return this;
  }
  setValueSerializationSchema(schema: Serializer<T>): this {
    this.value = schema;
    return this;
  }
  build(): KafkaRecordSerializationSchema<T> {
    if (!this.topic) throw new FlinkError('invalid-argument', 'KafkaRecordSerializationSchema: no topic (setTopic)');
    if (!this.value) throw new FlinkError('invalid-argument', 'KafkaRecordSerializationSchema: no value serializer (setValueSerializationSchema)');
    return { topic: this.topic, serializeKey: this.key && fn(this.key), serializeValue: fn(this.value) };
  }
}

export const KafkaRecordSerializationSchema = {
  builder<T>(): KafkaRecordSerializationSchemaBuilder<T> {
    return new KafkaRecordSerializationSchemaBuilder<T>();
  },
};

export interface KafkaSinkConfig<T> {
  bootstrapServers: string;
  serializer: KafkaRecordSerializationSchema<T>;
  deliveryGuarantee: DeliveryGuarantee;
  transactionalIdPrefix: string;
  properties: Record<string, string>;
}

export class KafkaSink<T> implements Sink<T> {
  readonly kind = 'kafka';
  readonly name: string;
  constructor(readonly config: KafkaSinkConfig<T>) {
    this.name = `KafkaSink(${config.serializer.topic})`;
  }

  static builder<T = string>(): KafkaSinkBuilder<T> {
    return new KafkaSinkBuilder<T>();
  }

  /**
   * Flink's KafkaSink with the same servers, topic, DeliveryGuarantee, transactional id prefix and producer
   * properties: EXACTLY_ONCE transactions are then Flink's (committed when its checkpoint completes). The
   * user's key and value serializers run here; each raw record is key and value (FlinkKafkaRecords). The
   * producer stamps the records, as this sink does on the mini-cluster.
   */
  toFlinkConnector(): FlinkSinkConnector<T> {
    const c = this.config;
    const s = c.serializer;
    return {
      descriptor: {
        type: 'kafka-sink', name: this.name, bootstrapServers: c.bootstrapServers, topic: s.topic,
        deliveryGuarantee: c.deliveryGuarantee, transactionalIdPrefix: c.transactionalIdPrefix,
        properties: { ...c.properties }, timestamps: 'producer',
      },
      encode: (value) => encodeProducerRecord(s.serializeKey ? toBuffer(s.serializeKey(value)) : undefined, toBuffer(s.serializeValue(value))),
    };
  }

  async preflight(ctx?: PreflightContext): Promise<void> {
    await describeTopics(this.config.bootstrapServers, [this.config.serializer.topic], timeoutOf(this.config.properties, 'request.timeout.ms', 15_000));
    const warning = transactionTimeoutWarning(this.config, ctx?.checkpointInterval);
    if (warning) ctx?.warn(warning);
  }
}

/**
 * EXACTLY_ONCE: a transaction stays open from one barrier until the next checkpoint has completed, so about
 * an interval plus the checkpoint's own duration (taken here as at most another interval). A broker aborts a
 * transaction older than transaction.timeout.ms, and its records are lost: warn when the timeout does not
 * leave that room (our rule: timeout < 2 x interval), and when checkpointing is off (nothing would commit).
 */
export function transactionTimeoutWarning<T>(config: KafkaSinkConfig<T>, checkpointInterval: number | undefined): string | undefined {
  if (config.deliveryGuarantee !== 'EXACTLY_ONCE') return undefined;
  const timeout = timeoutOf(config.properties, 'transaction.timeout.ms', 900_000);
  const sink = `KafkaSink(${config.serializer.topic}) EXACTLY_ONCE`;
  if (checkpointInterval === undefined || checkpointInterval <= 0) {
    return `${sink}: checkpointing is disabled, so its transactions are committed only by a savepoint (flink stop) or at the end of a bounded input; set execution.checkpointing.interval.`;
  }
  if (timeout < 2 * checkpointInterval) {
    return `${sink}: transaction.timeout.ms = ${timeout} ms is shorter than twice the checkpoint interval (${checkpointInterval} ms): the broker may abort a transaction before its checkpoint completes and its records would be lost; raise transaction.timeout.ms (at most the broker's transaction.max.timeout.ms, default 900000) or checkpoint more often.`;
  }
  return undefined;
}

export class KafkaSinkBuilder<T> {
  private bootstrapServers?: string;
  private serializer?: KafkaRecordSerializationSchema<T>;
  private guarantee: DeliveryGuarantee = DeliveryGuarantee.NONE;
  private prefix?: string;
  private readonly properties: Record<string, string> = {};

  setBootstrapServers(servers: string): this {
    this.bootstrapServers = servers;
    return this;
  }
  setRecordSerializer(schema: KafkaRecordSerializationSchema<T>): this {
    this.serializer = schema;
    return this;
  }
  setDeliveryGuarantee(g: DeliveryGuarantee): this {
    this.guarantee = g;
    return this;
  }
  /** Transactional ids are `<prefix>-<subtask>-<n>`: unique per job (two jobs with one prefix fence each other). */
  setTransactionalIdPrefix(prefix: string): this {
    this.prefix = prefix;
    return this;
  }
  setProperty(key: string, value: string): this {
    this.properties[key] = String(value);
    if (key === 'bootstrap.servers') this.bootstrapServers = String(value);
    return this;
  }
  build(): KafkaSink<T> {
    if (!this.bootstrapServers) throw new FlinkError('invalid-argument', 'KafkaSink: bootstrap servers must be set (setBootstrapServers)');
    if (!this.serializer) throw new FlinkError('invalid-argument', 'KafkaSink: no record serializer (setRecordSerializer)');
    if (this.guarantee === 'EXACTLY_ONCE' && !this.prefix) {
      throw new FlinkError('invalid-argument', 'KafkaSink: EXACTLY_ONCE needs a transactional id prefix (setTransactionalIdPrefix)');
    }
    return new KafkaSink<T>({
      bootstrapServers: this.bootstrapServers,
      serializer: this.serializer,
      deliveryGuarantee: this.guarantee,
      transactionalIdPrefix: this.prefix ?? 'kafka-sink',
      properties: { ...this.properties },
    });
  }
}
