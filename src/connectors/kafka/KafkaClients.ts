/**
 * What the Kafka connectors share: client options from the builder's properties, and one clear error when
 * the brokers cannot be reached, naming the bootstrap servers.
 */
import { FlinkError } from '../../core/FlinkError.js';

/**
 * The client library, loaded on first use: importing it costs a second or more, which jobs without Kafka
 * (and the CLI) must not pay.
 */
export function loadKafka(): Promise<typeof import('@platformatic/kafka')> {
  return (kafkaModule ??= import('@platformatic/kafka'));
}
let kafkaModule: Promise<typeof import('@platformatic/kafka')> | undefined;

export function brokersOf(bootstrapServers: string): string[] {
  const list = bootstrapServers.split(',').map((s) => s.trim()).filter(Boolean);
  if (list.length === 0 || list.some((b) => !/^[^:\s]+:\d+$/.test(b))) {
    throw new FlinkError('invalid-argument', `Invalid bootstrap.servers '${bootstrapServers}': expected host:port[,host:port...]`);
  }
  return list;
}

/** request.timeout.ms of the builder's properties, or `fallback`. */
export function timeoutOf(props: Record<string, string>, key: string, fallback: number): number {
  const v = props[key];
  if (v === undefined) return fallback;
  const n = Number(v);
  if (!Number.isFinite(n) || n <= 0) throw new FlinkError('config', `Invalid value '${v}' for ${key}: expected a positive number of milliseconds`);
  return n;
}

function withTimeout<T>(p: Promise<T>, ms: number, onTimeout: () => Error): Promise<T> {
  let t: NodeJS.Timeout | undefined;
  return Promise.race([p, new Promise<never>((_, rej) => { t = setTimeout(() => rej(onTimeout()), ms); })]).finally(() => clearTimeout(t));
}

function reason(e: unknown): string {
  const err = e as { message?: string; errors?: { message?: string }[]; cause?: { message?: string } };
  const inner = err.errors?.map((x) => x.message).filter(Boolean)[0] ?? err.cause?.message;
  const msg = String(err.message ?? e).replace(/\.$/, '');
  return inner && inner !== err.message ? `${msg}: ${inner}` : msg;
}

/**
 * Metadata of `topics` (all topics when undefined), within `timeoutMs`; an unreachable cluster and a
 * missing topic each become one FlinkError line.
 */
export async function describeTopics(bootstrapServers: string, topics: string[] | undefined, timeoutMs: number): Promise<Map<string, number>> {
  const { Admin } = await loadKafka();
  const admin = new Admin({ clientId: 'flink-ts-preflight', bootstrapBrokers: brokersOf(bootstrapServers), timeout: Math.min(timeoutMs, 5000), retries: 2, retryDelay: 250 });
  try {
    return await withTimeout((async () => {
      const names = topics ?? (await admin.listTopics());
      const missing: string[] = [];
      const counts = new Map<string, number>();
      const all = new Set(await admin.listTopics());
      for (const t of names) if (!all.has(t)) missing.push(t);
      if (missing.length > 0) {
        throw new FlinkError('not-found', `Kafka topic${missing.length > 1 ? 's' : ''} ${missing.map((t) => `'${t}'`).join(', ')} not found on the brokers at ${bootstrapServers}`);
      }
      if (names.length > 0) {
        const md = await admin.metadata({ topics: names });
        for (const [name, t] of md.topics) counts.set(name, t.partitionsCount);
      }
      return counts;
    })(), timeoutMs, () => new FlinkError('unreachable', `Cannot reach the Kafka brokers at ${bootstrapServers} (bootstrap.servers) within ${timeoutMs} ms`));
  } catch (e) {
    if (e instanceof FlinkError) throw e;
    throw new FlinkError('unreachable', `Cannot reach the Kafka brokers at ${bootstrapServers} (bootstrap.servers): ${reason(e)}`);
  } finally {
    await admin.close().catch(() => {});
  }
}

/** Java's String.hashCode, for Flink's partition-to-reader assignment. */
export function javaHashCode(s: string): number {
  let h = 0;
  for (let i = 0; i < s.length; i++) h = (Math.imul(31, h) + s.charCodeAt(i)) | 0;
  return h;
}

/** Flink's KafkaSourceEnumerator.getSplitOwner: the reader a partition is assigned to. */
export function splitOwner(topic: string, partition: number, numReaders: number): number {
  const startIndex = ((Math.imul(javaHashCode(topic), 31) & 0x7fffffff) % numReaders);
  return (startIndex + partition) % numReaders;
}
