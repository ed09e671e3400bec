/**
 * The KafkaSink in a subtask, with FileSink's two-phase-commit contract:
 * - EXACTLY_ONCE: records go into a transaction (transactional id `<prefix>-<subtask>-<n>`, n counting up);
 *   at the barrier of checkpoint N it is flushed (pre-commit: the checkpoint is acknowledged only when every
 *   record is on the broker) and recorded as pending in the checkpoint; the next records start a new one.
 *   When N completes, the pending transactions up to N are committed. A restore commits the transactions the
 *   restored checkpoint recorded (they were pre-committed, so their checkpoint counts as complete) and fences
 *   the ids after them, which aborts lingering transactions of the failed attempt.
 * - AT_LEAST_ONCE: the barrier waits until every record sent so far is acknowledged.
 * - NONE: records are sent, nothing waits.
 * Sends happen in batches; beyond MAX_IN_FLIGHT unacknowledged records the task stops feeding the sink.
 */
import type { Producer, MessageToProduce } from '@platformatic/kafka';
import type { ListState } from '../../api/state.js';
import { StreamOperator } from '../../operators/StreamOperator.js';
import { faultPoint } from '../../core/FaultInjection.js';
import { brokersOf, loadKafka } from './KafkaClients.js';
import type { KafkaSink } from './KafkaSink.js';
import { KafkaTransactions, NO_PRODUCER } from './KafkaTransactions.js';
import { toBuffer } from './serialization.js';

const SEND_BATCH = 2000;
const MAX_IN_FLIGHT = 20_000;
const LINGER_MS = 20;

interface PendingTransaction {
  checkpointId: number;
  transactionalId: string;
}

/** Union list state: every subtask sees every entry, so a rescaled restore finds all pending transactions. */
interface KafkaWriterState {
  subtask: number;
  parallelism: number;
  /** Next transaction number of this subtask (ids below it may have been used). */
  nextSeq: number;
  pending: PendingTransaction[];
}

interface OpenTransaction {
  transactionalId: string;
  producer?: Producer<Buffer, Buffer, Buffer, Buffer>;
  /** Resolves once the transaction began and every batch sent so far was acknowledged. */
  chain: Promise<unknown>;
}

export class KafkaWriterOperator<T> extends StreamOperator<T> {
  private state!: ListState<KafkaWriterState>;
  private nextSeq = 0;
  private pending: (PendingTransaction & { txn: OpenTransaction })[] = [];
  private current?: OpenTransaction;
  /** AT_LEAST_ONCE / NONE: one producer for the whole run. */
  private plain?: Promise<Producer<Buffer, Buffer, Buffer, Buffer>>;
  private plainChain: Promise<unknown> = Promise.resolve();
  private buffer: MessageToProduce<Buffer, Buffer, Buffer, Buffer>[] = [];
  private inFlight = 0;
  private error?: Error;
  private recovery: Promise<void> = Promise.resolve();
  private lingerArmed = false;
  private readonly transactionTimeoutMs: number;

  constructor(private readonly sink: KafkaSink<T>) {
    super();
    this.transactionTimeoutMs = Number(sink.config.properties['transaction.timeout.ms'] ?? 900_000);
  }

  private get exactlyOnce(): boolean {
    return this.sink.config.deliveryGuarantee === 'EXACTLY_ONCE';
  }

  private txnId(subtask: number, seq: number): string {
    return `${this.sink.config.transactionalIdPrefix}-${subtask}-${seq}`;
  }

  override initializeState(): void {
    this.state = this.ctx.operatorState.getUnionListState<KafkaWriterState>('KafkaWriterState');
    const { subtask, parallelism } = this.ctx;
    const restored = this.state.get();
    if (!this.exactlyOnce) return;
    const own = restored.find((e) => e.subtask === subtask);
    this.nextSeq = own?.nextSeq ?? 0;
    // This subtask takes care of the old subtasks s with s % parallelism == subtask (all of them when rescaled).
    const mine = restored.filter((e) => e.subtask % parallelism === subtask);
    if (!own) mine.push({ subtask, parallelism, nextSeq: 0, pending: [] });
    this.recovery = (async () => {
      const tx = await KafkaTransactions.create(this.sink.config.bootstrapServers, `flink-ts-recovery-${subtask}`);
      try {
        for (const e of mine) for (const p of e.pending) await tx.commitRecovered(p.transactionalId);
        // Lingering transactions of the failed attempt: the ids after the last recorded one, until a never-used id.
        for (const e of mine) {
          for (let seq = e.nextSeq; await tx.fence(this.txnId(e.subtask, seq), this.transactionTimeoutMs); seq++);
        }
      } finally {
        await tx.close();
      }
    })();
    this.recovery.catch((e) => this.setError(e));
    this.state.update([{ subtask, parallelism, nextSeq: this.nextSeq, pending: [] }]);
  }

  override open(): void {
    if (!this.exactlyOnce) {
      const brokers = brokersOf(this.sink.config.bootstrapServers);
      this.plain = loadKafka().then((k) => new k.Producer({
        clientId: `flink-ts-sink-${this.ctx.subtask}`,
        bootstrapBrokers: brokers,
        idempotent: this.sink.config.deliveryGuarantee === 'AT_LEAST_ONCE',
        acks: this.sink.config.deliveryGuarantee === 'NONE' ? 1 : -1,
        retries: 10,
      }));
      this.plainChain = this.plain;
      this.plain.catch((e) => this.setError(e));
    }
  }

  override get backpressured(): boolean {
    return this.inFlight >= MAX_IN_FLIGHT;
  }

  processElement(v: T): void {
    if (this.error) throw this.error;
    const s = this.sink.config.serializer;
    this.buffer.push({ topic: s.topic, key: s.serializeKey ? toBuffer(s.serializeKey(v)) : undefined, value: toBuffer(s.serializeValue(v)) });
    if (this.buffer.length >= SEND_BATCH) this.flush();
    else if (!this.lingerArmed) {
      this.lingerArmed = true;
      this.ctx.processingTimeService.schedule(Date.now() + LINGER_MS, () => {
        this.lingerArmed = false;
        this.flush();
      });
    }
  }

  private setError(e: unknown): void {
    this.error ??= e instanceof Error ? e : new Error(String(e));
  }

  private openTransaction(): OpenTransaction {
    const transactionalId = this.txnId(this.ctx.subtask, this.nextSeq++);
    const brokers = brokersOf(this.sink.config.bootstrapServers);
    const txn: OpenTransaction = { transactionalId, chain: Promise.resolve() };
    txn.chain = Promise.all([this.recovery, loadKafka()]).then(([, k]) => {
      txn.producer = new k.Producer<Buffer, Buffer, Buffer, Buffer>({
        clientId: `flink-ts-sink-${this.ctx.subtask}`,
        bootstrapBrokers: brokers,
        idempotent: true,
        transactionalId,
        timeout: this.transactionTimeoutMs,
        retries: 20,
        retryDelay: 250,
        ...NO_PRODUCER,
      });
      return txn.producer.beginTransaction();
    });
    return txn;
  }

  /** Sends the buffered records (in order, one batch at a time: an idempotent producer's sequence). */
  private flush(): void {
    if (this.buffer.length === 0) return;
    const messages = this.buffer;
    this.buffer = [];
    this.inFlight += messages.length;
    const done = () => {
      const was = this.backpressured;
      this.inFlight -= messages.length;
      if (was && !this.backpressured) this.ctx.processingTimeService.schedule(Date.now(), () => {}); // feed us again
    };
    if (this.exactlyOnce) {
      const txn = (this.current ??= this.openTransaction());
      txn.chain = txn.chain.then((t) => (t as { send(o: { messages: typeof messages }): Promise<unknown> }).send({ messages }).then(() => t));
      txn.chain.then(done, (e) => { done(); this.setError(e); });
    } else {
      const p = this.plain!;
      this.plainChain = this.plainChain.then(() => p).then((producer) => producer.send({ messages }));
      this.plainChain.then(done, (e) => { done(); this.setError(e); });
    }
  }

  override snapshotState(checkpointId: number): void {
    if (this.error) throw this.error;
    this.flush();
    if (this.exactlyOnce && this.current) {
      this.pending.push({ checkpointId, transactionalId: this.current.transactionalId, txn: this.current });
      this.current = undefined;
    }
    const { subtask, parallelism } = this.ctx;
    this.state.update([{ subtask, parallelism, nextSeq: this.nextSeq, pending: this.pending.map((p) => ({ checkpointId: p.checkpointId, transactionalId: p.transactionalId })) }]);
  }

  /** Pre-commit: every record of the transaction (or, at least once, sent so far) is acknowledged. */
  override snapshotStateAsync(checkpointId: number): Promise<void> | undefined {
    if (this.exactlyOnce) {
      const p = this.pending.find((x) => x.checkpointId === checkpointId);
      return Promise.all([this.recovery, p?.txn.chain]).then(() => {
        if (this.error) throw this.error;
        if (p) faultPoint('kafka.pre-commit', p.transactionalId);
      });
    }
    if (this.sink.config.deliveryGuarantee === 'AT_LEAST_ONCE') return this.plainChain.then(() => { if (this.error) throw this.error; });
    return undefined;
  }

  override notifyCheckpointComplete(checkpointId: number): Promise<void> | undefined {
    const done = this.pending.filter((p) => p.checkpointId <= checkpointId);
    if (done.length === 0) return undefined;
    this.pending = this.pending.filter((p) => p.checkpointId > checkpointId);
    for (const p of done) {
      p.txn.chain = p.txn.chain
        .then((t) => {
          faultPoint('kafka.commit', p.transactionalId);
          return (t as { commit(): Promise<void> }).commit();
        })
        .then(() => p.txn.producer?.close())
        .catch((e) => this.setError(new Error(`Committing Kafka transaction ${p.transactionalId} failed: ${(e as Error).message}`, { cause: e })));
    }
    // Rejects when a commit failed: after the final checkpoint the task must fail, not finish.
    return Promise.all(done.map((p) => p.txn.chain)).then(() => { if (this.error) throw this.error; });
  }

  /**
   * End of a bounded input. Exactly once with a final checkpoint (FLIP-147): the open transaction gets the last
   * records; that checkpoint pre-commits and commits it. Without one, everything open is committed now.
   */
  override endInput(): Promise<void> {
    this.flush();
    if (!this.exactlyOnce) return this.plainChain.then(() => { if (this.error) throw this.error; });
    if (this.ctx.waitsForFinalCheckpoint) return Promise.resolve(this.current?.chain).then(() => { if (this.error) throw this.error; });
    const open = [...this.pending.map((p) => p.txn), ...(this.current ? [this.current] : [])];
    this.pending = [];
    this.current = undefined;
    return Promise.all(open.map((t) => t.chain.then((x) => (x as { commit(): Promise<void> }).commit()).then(() => t.producer?.close()))).then(() => undefined);
  }

  override close(): void {
    // A failed or cancelled attempt's open transactions stay open; the restore fences (aborts) them.
    for (const p of this.pending) p.txn.producer?.close(true, () => {});
    this.current?.producer?.close(true, () => {});
    if (this.plain) {
      const p = this.plain;
      void this.plainChain.finally(() => p.then((x) => x.close())).catch(() => {});
    }
  }
}
