/**
 * Transactions of the exactly-once KafkaSink that outlive their producer: committing the ones a restored
 * checkpoint recorded (Flink resumes them by producer id and epoch; here the coordinator's own record,
 * DescribeTransactions, gives them) and fencing lingering ones by initializing their transactional id.
 */
import type { Connection, ConnectionPool } from '@platformatic/kafka';
import { brokersOf, loadKafka } from './KafkaClients.js';

const TRANSACTION_KEY = 1; // FindCoordinatorKeyTypes.TRANSACTION
const UNSUPPORTED_VERSION = 35;
const COORDINATOR_RETRIABLE = new Set([14, 15, 16, 51]); // loading, not available, not coordinator, concurrent transactions

/**
 * InitProducerId as a new producer (id -1, epoch -1, KIP-360): the client sends 0/0 by default, which the
 * coordinator refuses for a transactional id some earlier producer used (the restore and fencing case).
 */
export const NO_PRODUCER = { producerId: -1n, producerEpoch: -1 } as const;

/** The exactly-once sink's transactional id of subtask `subtask`'s `seq`-th transaction: `<prefix>-<subtask>-<seq>`. */
export function transactionalId(prefix: string, subtask: number, seq: number): string {
  return `${prefix}-${subtask}-${seq}`;
}

/** The subtask of a sink's transactional id (transactionalId's inverse), or undefined for an id of another form. */
function subtaskOf(prefix: string, id: string): number | undefined {
  const m = /^(\d+)-(\d+)$/.exec(id.slice(prefix.length + 1));
  return id.startsWith(`${prefix}-`) && m ? Number(m[1]) : undefined;
}

export type CommitOutcome = 'committed' | 'already-committed' | 'not-found' | 'aborted';

export class KafkaTransactions {
  private readonly pool: ConnectionPool;
  private readonly brokers: { host: string; port: number }[];

  static async create(bootstrapServers: string, clientId: string): Promise<KafkaTransactions> {
    return new KafkaTransactions(await loadKafka(), bootstrapServers, clientId);
  }

  private constructor(private readonly k: typeof import('@platformatic/kafka'), bootstrapServers: string, clientId: string) {
    this.pool = new k.ConnectionPool(clientId, {});
    this.brokers = brokersOf(bootstrapServers).map((b) => {
      const i = b.lastIndexOf(':');
      return { host: b.slice(0, i), port: Number(b.slice(i + 1)) };
    });
  }

  private async coordinator(transactionalId: string): Promise<Connection> {
    const any = await this.pool.getFirstAvailable(this.brokers);
    const r = await this.k.findCoordinatorV6.api.async(any, TRANSACTION_KEY, [transactionalId]);
    const c = r.coordinators.find((x) => x.key === transactionalId)!;
    if (c.errorCode !== 0) throw Object.assign(new Error(`FindCoordinator for ${transactionalId}: error ${c.errorCode}`), { code: c.errorCode });
    return this.pool.get({ host: c.host, port: c.port });
  }

  private async retry<T>(what: string, fn: () => Promise<T>, attempts = 40): Promise<T> {
    for (let i = 1; ; i++) {
      try {
        return await fn();
      } catch (e) {
        const code = errorCode(e);
        if (i >= attempts || (code !== undefined && !COORDINATOR_RETRIABLE.has(code))) throw new Error(`${what}: ${(e as Error).message}`, { cause: e });
        await new Promise((r) => setTimeout(r, Math.min(1000, 50 * i)));
      }
    }
  }

  /** Commits the transaction of `transactionalId` that is open on the coordinator (the pre-committed one). */
  async commitRecovered(transactionalId: string): Promise<CommitOutcome> {
    return this.retry(`Committing recovered transaction ${transactionalId}`, async () => {
      const conn = await this.coordinator(transactionalId);
      const d = await this.k.describeTransactionsV0.api.async(conn, [transactionalId]);
      const st = d.transactionStates[0];
      if (st.errorCode !== 0) {
        if (st.errorCode === 105) return 'not-found'; // TRANSACTIONAL_ID_NOT_FOUND
        throw Object.assign(new Error(`DescribeTransactions error ${st.errorCode}`), { code: st.errorCode });
      }
      switch (st.transactionState) {
        case 'Ongoing':
          await this.k.endTxnV4.api.async(conn, transactionalId, st.producerId, st.producerEpoch, true);
          return 'committed';
        case 'PrepareCommit':
        case 'CompleteCommit':
          return 'already-committed';
        case 'Empty':
          return 'not-found';
        default:
          return 'aborted';
      }
    }).catch((e): CommitOutcome => {
      if (errorCode((e as Error).cause) === 105) return 'not-found';
      throw e;
    });
  }

  /**
   * Whether the coordinator knows `transactionalId` (a never-used id ends the search for lingering
   * transactions; the epoch cannot tell: this broker hands a re-initialized idle id a new producer id at
   * epoch 0), and fences it when a transaction is open on it (InitProducerId aborts that transaction).
   */
  async fence(transactionalId: string, transactionTimeoutMs: number): Promise<boolean> {
    const state = await this.retry(`Describing transaction ${transactionalId}`, async () => {
      const conn = await this.coordinator(transactionalId);
      const st = (await this.k.describeTransactionsV0.api.async(conn, [transactionalId])).transactionStates[0];
      if (st.errorCode === 105) return 'unknown';
      if (st.errorCode !== 0) throw Object.assign(new Error(`DescribeTransactions error ${st.errorCode}`), { code: st.errorCode });
      return st.transactionState;
    }).catch((e) => {
      if (errorCode((e as Error).cause) === 105) return 'unknown';
      throw e;
    });
    if (state === 'unknown') return false;
    if (state === 'Ongoing' || state === 'PrepareAbort' || state === 'PrepareCommit') await this.initProducer(transactionalId, transactionTimeoutMs);
    return true;
  }

  /**
   * Transactional ids starting with `prefix` whose transaction is Ongoing, as the brokers list them
   * (ListTransactions, KIP-664; each broker lists the ids it coordinates, so every broker is asked).
   */
  async ongoingTransactions(prefix: string): Promise<string[]> {
    const any = await this.pool.getFirstAvailable(this.brokers);
    const md = await this.retry('Reading the cluster metadata', () => this.k.metadataV12.api.async(any, [], false, false));
    const out: string[] = [];
    for (const b of md.brokers) {
      const r = await this.retry(`Listing the transactions on ${b.host}:${b.port}`, async () =>
        this.k.listTransactionsV0.api.async(await this.pool.get({ host: b.host, port: b.port }), [], [], 0n, null));
      for (const t of r.transactionStates) if (t.transactionState === 'Ongoing' && t.transactionalId.startsWith(prefix)) out.push(t.transactionalId);
    }
    return out.sort();
  }

  /**
   * The restore of an exactly-once sink subtask (Flink's KafkaSink on recovery): commits the transactions the
   * checkpoint recorded as pre-committed, then aborts what the failed attempt left open on the ids of the old
   * subtasks this one takes over (`owns`). First by probing the ids after each one's last recorded number up to a
   * never-used id; then by listing: a transaction whose id comes after a gap (its producer registered before the
   * one of the id before it when the attempt died) blocks every read_committed consumer of the topic until
   * transaction.timeout.ms, and only the brokers' own list finds it. Returns the ids aborted by listing.
   */
  async recover(o: {
    prefix: string;
    owned: { subtask: number; nextSeq: number; pending: string[] }[];
    owns: (subtask: number) => boolean;
    transactionTimeoutMs: number;
  }): Promise<string[]> {
    for (const e of o.owned) for (const t of e.pending) await this.commitRecovered(t);
    for (const e of o.owned) for (let seq = e.nextSeq; await this.fence(transactionalId(o.prefix, e.subtask, seq), o.transactionTimeoutMs); seq++);
    const recorded = new Set(o.owned.flatMap((e) => e.pending));
    const listed: string[] = [];
    // A broker before Kafka 3.0 has no ListTransactions: the probe above is then all there is.
    const ongoing = await this.ongoingTransactions(`${o.prefix}-`).catch((e: unknown) => {
      if (errorCode(e) === UNSUPPORTED_VERSION || errorCode((e as Error).cause) === UNSUPPORTED_VERSION) return [];
      throw e;
    });
    for (const t of ongoing) {
      const s = subtaskOf(o.prefix, t);
      if (s === undefined || !o.owns(s) || recorded.has(t)) continue;
      await this.fence(t, o.transactionTimeoutMs);
      listed.push(t);
    }
    return listed;
  }

  /**
   * InitProducerId for `transactionalId` as a new producer: the coordinator aborts the open transaction, bumps
   * the epoch (the old producer is fenced) and answers only once the abort is complete (CONCURRENT_TRANSACTIONS,
   * retried, until then). Sent directly: the client library's initIdempotentProducer() leaves the transactional id
   * out when no transaction of its own is open, which fences nothing.
   */
  private async initProducer(transactionalId: string, transactionTimeoutMs: number): Promise<void> {
    await this.retry(`Fencing transactional id ${transactionalId}`, async () => {
      const conn = await this.coordinator(transactionalId);
      await this.k.initProducerIdV4.api.async(conn, transactionalId, transactionTimeoutMs, NO_PRODUCER.producerId, NO_PRODUCER.producerEpoch);
    });
  }

  async close(): Promise<void> {
    await this.pool.close().catch(() => {});
  }
}

function errorCode(e: unknown): number | undefined {
  const err = e as { code?: unknown; errors?: { apiCode?: number; code?: unknown }[]; apiCode?: number; response?: { errorCode?: number } };
  if (typeof err.code === 'number') return err.code;
  if (typeof err.apiCode === 'number') return err.apiCode;
  for (const x of err.errors ?? []) if (typeof x.apiCode === 'number') return x.apiCode;
  return undefined;
}
