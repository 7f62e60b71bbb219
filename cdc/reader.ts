import { Service, backoffMs, sleep } from '../infra/runtime/service';
import { errorMessage, isAbortError, UnrecoverableError } from '../infra/runtime/errors';
import { logger } from '../infra/runtime/log';
import type { ChangeSource, SourceTransaction, TransactionReceipt } from './change-source';
import { transactionRecords } from './envelope';
import type { KafkaPublisher } from './kafka-publisher';
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
 * topics, grouped with the transactions committed meanwhile) before the source may confirm it; a failure anywhere restarts the stream from the last
 * confirmed commit, so a transaction may be published twice but never skipped. Duplicates carry the
 * same `(commit_lsn, seq)` position, which consumers use to drop them.
 */
export class CdcReader extends Service {
  constructor(private readonly options: CdcReaderOptions) {
    super();
  }

  protected async run(signal: AbortSignal): Promise<void> {
    for (let attempt = 0; !signal.aborted; attempt++) {
      try {
        // A fresh pipeline per stream: after a failure nothing queued behind it may be sent.
        const pipeline = new PublishPipeline((records) => this.options.publisher.publish(records));
        await this.options.source.stream((transaction) => this.#publish(pipeline, transaction), signal);
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

  async #publish(pipeline: PublishPipeline, transaction: SourceTransaction): Promise<TransactionReceipt> {
    const records = transactionRecords(transaction, this.options.topicPrefix);
    const receipt = await pipeline.submit(records);
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
