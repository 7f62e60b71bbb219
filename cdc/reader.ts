import { Service, backoffMs, sleep } from '../infra/runtime/service';
import { errorMessage, isAbortError, UnrecoverableError } from '../infra/runtime/errors';
import { logger } from '../infra/runtime/log';
import type { ChangeSource, SourceTransaction, TransactionReceipt } from './change-source';
import { transactionRecords } from './envelope';
import type { KafkaPublisher } from './kafka-publisher';
import type { Lsn } from './lsn';
import type { CdcMetrics } from './metrics';
import { PublishPipeline } from './publish-pipeline';

const log = logger('cdc');

export interface CdcReaderOptions {
  source: ChangeSource;
  publisher: KafkaPublisher;
  topicPrefix: string;
  metrics: CdcMetrics;
  /** Called as each transaction becomes durable in Kafka (benchmarks use it for exact percentiles). */
  onDurable?: (commitToPublishMs: number, events: number) => void;
}

/**
 * WAL → Kafka. Each committed transaction is published (all its events, on their tenancies'
 * topics, in a Kafka transaction with the transactions committed meanwhile) before the source may
 * confirm it; a failure anywhere restarts the stream from the last confirmed commit. What the slot
 * replays but Kafka already committed is recognised by the position stored in the same Kafka
 * transactions and skipped, so read_committed consumers see each event once. (Consumers reading
 * uncommitted data may see records of an aborted Kafka transaction again; they carry the same
 * `(commit_lsn, seq)` positions.)
 */
export class CdcReader extends Service {
  constructor(private readonly options: CdcReaderOptions) {
    super();
  }

  protected async run(signal: AbortSignal): Promise<void> {
    for (let attempt = 0; !signal.aborted; attempt++) {
      try {
        // A fresh pipeline per stream: after a failure nothing queued behind it may be sent.
        const session = new PublishSession(this.options.publisher);
        try {
          await this.options.source.stream((transaction) => this.#publish(session, transaction), signal);
        } finally {
          await this.options.publisher.close();
        }
        attempt = -1;
      } catch (error: unknown) {
        if (signal.aborted || isAbortError(error)) return;
        if (error instanceof UnrecoverableError) throw error;
        this.options.metrics.reconnects.inc();
        const waitMs = backoffMs(attempt);
        log.warn('replication stream failed; reconnecting', { error: errorMessage(error), retryInMs: waitMs });
        await sleep(waitMs, signal).catch(() => undefined);
      }
    }
  }

  async #publish(session: PublishSession, transaction: SourceTransaction): Promise<TransactionReceipt> {
    const records = transactionRecords(transaction, this.options.topicPrefix);
    if (records.length > 0 && (await session.alreadyPublished(transaction.commitEndLsn))) {
      // Kafka committed it before the last crash; only the slot's confirmation was lost.
      this.options.metrics.transactionsSkipped.inc();
      return { durable: Promise.resolve() };
    }
    const receipt = await session.pipeline.submit(records, transaction.commitEndLsn);
    const { metrics } = this.options;
    receipt.durable.then(
      () => {
        for (const record of records) {
          if (record.event) metrics.eventsPublished.inc({ table: record.event.source.table, op: record.event.op });
        }
        const commitToPublishMs = Math.max(0, Date.now() - transaction.commitTimeMs);
        if (records.length > 0) metrics.commitToPublishSeconds.observe(commitToPublishMs / 1000);
        metrics.transactionsPublished.inc();
        this.options.onDurable?.(commitToPublishMs, records.length);
      },
      () => undefined,
    );
    return receipt;
  }
}

/**
 * One replication stream's publishing. The publisher is opened (taking over the transactional id,
 * reading back the published position) only when the first transaction with records arrives: a
 * standby reader waiting for the slot must not fence the active one.
 */
class PublishSession {
  readonly pipeline: PublishPipeline;
  #published: Promise<Lsn | undefined> | undefined;

  constructor(private readonly publisher: KafkaPublisher) {
    this.pipeline = new PublishPipeline((records, position) => this.publisher.publish(records, position));
  }

  async alreadyPublished(commitEndLsn: Lsn): Promise<boolean> {
    this.#published ??= this.publisher.open();
    const published = await this.#published;
    return published !== undefined && commitEndLsn <= published;
  }
}
