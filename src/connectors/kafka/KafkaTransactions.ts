/**
 * Transactions of the exactly-once KafkaSink that outlive their producer: committing the ones a restored
 * checkpoint recorded (Flink resumes them by producer id and epoch; here the coordinator's own record,
 * DescribeTransactions, gives them) and fencing lingering ones by initializing their transactional id.
 */
import type { Connection, ConnectionPool } from '@platformatic/kafka';
import { brokersOf, loadKafka } from './KafkaClients.js';

const TRANSACTION_KEY = 1; // FindCoordinatorKeyTypes.TRANSACTION
const COORDINATOR_RETRIABLE = new Set([14, 15, 16, 51]); // loading, not available, not coordinator, concurrent transactions

/**
 * InitProducerId as a new producer (id -1, epoch -1, KIP-360): the client sends 0/0 by default, which the
 * coordinator refuses for a transactional id some earlier producer used (the restore and fencing case).
 */
export const NO_PRODUCER = { producerId: -1n, producerEpoch: -1 } as const;

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

  private async initProducer(transactionalId: string, transactionTimeoutMs: number): Promise<void> {
    const p = new this.k.Producer({
      clientId: `flink-ts-fence`, bootstrapBrokers: this.brokers, idempotent: true, transactionalId, timeout: transactionTimeoutMs,
      retries: 20, retryDelay: 100, ...NO_PRODUCER,
    });
    try {
      await p.initIdempotentProducer({});
    } finally {
      await p.close().catch(() => {});
    }
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
