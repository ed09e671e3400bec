/**
 * The KafkaSink in a subtask:
 * - EXACTLY_ONCE (TwoPhaseCommittingSinkOperator): records go into a transaction (transactional id
 *   `<prefix>-<subtask>-<n>`, n counting up); at the barrier of checkpoint N it is the committable: flushed
 *   (pre-commit: the checkpoint is acknowledged only when every record is on the broker) and recorded as pending
 *   in the checkpoint; the next records start a new one. When N completes, the pending transactions up to N are
 *   committed. A restore commits the transactions the restored checkpoint recorded (they were pre-committed, so
 *   their checkpoint counts as complete) and fences the ids after them, which aborts lingering transactions of
 *   the failed attempt.
 * - AT_LEAST_ONCE: the barrier waits until every record sent so far is acknowledged.
 * - NONE: records are sent, nothing waits.
 * Sends happen in batches; beyond MAX_IN_FLIGHT unacknowledged records the task stops feeding the sink.
 */
import type { Producer, MessageToProduce } from '@platformatic/kafka';
import type { ListState } from '../../api/state.js';
import { TwoPhaseCommittingSinkOperator } from '../../operators/TwoPhaseCommittingSinkOperator.js';
import { brokersOf, loadKafka } from './KafkaClients.js';
import type { KafkaSink } from './KafkaSink.js';
import { KafkaTransactions, NO_PRODUCER, transactionalId } from './KafkaTransactions.js';
import { toBuffer } from './serialization.js';

const SEND_BATCH = 2000;
const MAX_IN_FLIGHT = 20_000;
const LINGER_MS = 20;

/** Union list state: every subtask sees every entry, so a rescaled restore finds all pending transactions. */
interface KafkaWriterState {
  subtask: number;
  parallelism: number;
  /** Next transaction number of this subtask (ids below it may have been used). */
  nextSeq: number;
  pending: { checkpointId: number; transactionalId: string }[];
}

/** An open transaction, and the committable once its checkpoint's barrier closed it. */
interface KafkaTransaction {
  transactionalId: string;
  producer?: Producer<Buffer, Buffer, Buffer, Buffer>;
  /** Resolves once the transaction began and every batch sent so far was acknowledged. */
  chain: Promise<unknown>;
}

export class KafkaWriterOperator<T> extends TwoPhaseCommittingSinkOperator<T, KafkaTransaction> {
  protected readonly faultPointPrefix = 'kafka';
  private state!: ListState<KafkaWriterState>;
  private nextSeq = 0;
  private current?: KafkaTransaction;
  /** AT_LEAST_ONCE / NONE: one producer for the whole run. */
  private plain?: Promise<Producer<Buffer, Buffer, Buffer, Buffer>>;
  private plainChain: Promise<unknown> = Promise.resolve();
  private buffer: MessageToProduce<Buffer, Buffer, Buffer, Buffer>[] = [];
  private inFlight = 0;
  private lingerArmed = false;
  private readonly transactionTimeoutMs: number;

  constructor(private readonly sink: KafkaSink<T>) {
    super();
    this.transactionTimeoutMs = Number(sink.config.properties['transaction.timeout.ms'] ?? 900_000);
  }

  protected get twoPhase(): boolean {
    return this.sink.config.deliveryGuarantee === 'EXACTLY_ONCE';
  }

  protected describe(t: KafkaTransaction): string {
    return `Kafka transaction ${t.transactionalId}`;
  }

  override initializeState(): void {
    this.state = this.ctx.operatorState.getUnionListState<KafkaWriterState>('KafkaWriterState');
    const { subtask, parallelism } = this.ctx;
    const restored = this.state.get();
    if (!this.twoPhase) return;
    const own = restored.find((e) => e.subtask === subtask);
    this.nextSeq = own?.nextSeq ?? 0;
    // This subtask takes care of the old subtasks s with s % parallelism == subtask (all of them when rescaled).
    const mine = restored.filter((e) => e.subtask % parallelism === subtask);
    if (!own) mine.push({ subtask, parallelism, nextSeq: 0, pending: [] });
    this.recovery = (async () => {
      const tx = await KafkaTransactions.create(this.sink.config.bootstrapServers, `flink-ts-recovery-${subtask}`);
      try {
        await tx.recover({
          prefix: this.sink.config.transactionalIdPrefix,
          owned: mine.map((e) => ({ subtask: e.subtask, nextSeq: e.nextSeq, pending: e.pending.map((p) => p.transactionalId) })),
          owns: (s) => s % parallelism === subtask,
          transactionTimeoutMs: this.transactionTimeoutMs,
        });
      } finally {
        await tx.close();
      }
    })();
    this.recovery.catch((e) => this.setError(e));
    this.state.update([{ subtask, parallelism, nextSeq: this.nextSeq, pending: [] }]);
  }

  override open(): void {
    if (!this.twoPhase) {
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

  protected write(v: T): void {
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

  private openTransaction(): KafkaTransaction {
    const id = transactionalId(this.sink.config.transactionalIdPrefix, this.ctx.subtask, this.nextSeq++);
    const brokers = brokersOf(this.sink.config.bootstrapServers);
    const txn: KafkaTransaction = { transactionalId: id, chain: Promise.resolve() };
    txn.chain = Promise.all([this.recovery, loadKafka()]).then(([, k]) => {
      txn.producer = new k.Producer<Buffer, Buffer, Buffer, Buffer>({
        clientId: `flink-ts-sink-${this.ctx.subtask}`,
        bootstrapBrokers: brokers,
        idempotent: true,
        transactionalId: id,
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
  protected flush(): void {
    if (this.buffer.length === 0) return;
    const messages = this.buffer;
    this.buffer = [];
    this.inFlight += messages.length;
    const done = () => {
      const was = this.backpressured;
      this.inFlight -= messages.length;
      if (was && !this.backpressured) this.ctx.resume(); // feed us again
    };
    if (this.twoPhase) {
      const txn = (this.current ??= this.openTransaction());
      txn.chain = txn.chain.then((t) => (t as { send(o: { messages: typeof messages }): Promise<unknown> }).send({ messages }).then(() => t));
      txn.chain.then(done, (e) => { done(); this.setError(e); });
    } else {
      const p = this.plain!;
      this.plainChain = this.plainChain.then(() => p).then((producer) => producer.send({ messages }));
      this.plainChain.then(done, (e) => { done(); this.setError(e); });
    }
  }

  /** The barrier closes the open transaction; the next records start a new one. */
  protected prepareCommit(): KafkaTransaction | undefined {
    const t = this.current;
    this.current = undefined;
    return t;
  }

  protected storeState(): void {
    const { subtask, parallelism } = this.ctx;
    this.state.update([{ subtask, parallelism, nextSeq: this.nextSeq, pending: this.pending.map((p) => ({ checkpointId: p.checkpointId, transactionalId: p.committable.transactionalId })) }]);
  }

  /** Every record of the transaction (the open one when none is given; at least once, sent so far) is acknowledged. */
  protected preCommitted(t: KafkaTransaction | undefined): Promise<void> {
    if (this.twoPhase) return Promise.resolve((t ?? this.current)?.chain).then(() => undefined);
    if (this.sink.config.deliveryGuarantee === 'AT_LEAST_ONCE') return this.plainChain.then(() => undefined);
    return Promise.resolve();
  }

  protected async commit(t: KafkaTransaction): Promise<void> {
    t.chain = t.chain.then((x) => (x as { commit(): Promise<void> }).commit()).then(() => t.producer?.close());
    await t.chain;
  }

  protected commitOpenAtEndOfInput(): Promise<void> {
    const t = this.current;
    this.current = undefined;
    return t ? this.commit(t) : Promise.resolve();
  }

  override close(): void {
    // A failed or cancelled attempt's open transactions stay open; the restore fences (aborts) them.
    for (const p of this.pending) p.committable.producer?.close(true, () => {});
    this.current?.producer?.close(true, () => {});
    if (this.plain) {
      const p = this.plain;
      void this.plainChain.finally(() => p.then((x) => x.close())).catch(() => {});
    }
  }
}
