import { Service, backoffMs, sleep } from '../infra/runtime/service';
import { errorMessage, isAbortError, UnrecoverableError } from '../infra/runtime/errors';
import { logger } from '../infra/runtime/log';
import type { EventFormat } from '../schema/connect-event';
import type { ChangeSource, SourceSegment, TransactionReceipt } from './change-source';
import { messageKey, TransactionRecordBuilder, type TopicRecord } from './envelope';
import type { KafkaPublisher } from './kafka-publisher';
import type { Lsn } from './lsn';
import type { CdcMetrics } from './metrics';
import { PublishPipeline } from './publish-pipeline';
import type { SnapshotChunk, Snapshotter } from './snapshotter';

const log = logger('cdc');

/**
 * Longest wait between two attempts to stream, in ms. A broker or database that comes back is used
 * within this; the reader must resume within seconds of an outage's end, and an attempt against a
 * dependency that is still away costs one failed connection.
 */
const maxReconnectWaitMs = 5_000;

export interface CdcReaderOptions {
  source: ChangeSource;
  publisher: KafkaPublisher;
  topicPrefix: string;
  /** How events are written (CDC_EVENT_FORMAT); default the schemaless envelope. */
  eventFormat?: EventFormat;
  metrics: CdcMetrics;
  /** Reads snapshot chunks between watermarks while this reader streams (cdc/snapshotter.ts). */
  snapshotter?: Snapshotter;
  /** Called as each transaction becomes durable in Kafka (benchmarks use it for exact percentiles). */
  onDurable?: (commitToPublishMs: number, events: number) => void;
  /** The fusebox's `cdc_enabled`: while off, the reader does not read the slot. */
  enabled?: ReaderSwitch;
}

/** Whether the reader may read now, and a way to hear when that changes. */
export interface ReaderSwitch {
  readonly enabled: boolean;
  onChange(listener: () => void): () => void;
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
  /** Commit times of transactions received but not yet committed in Kafka, by commit LSN, oldest first. */
  readonly #unpublished = new Map<Lsn, number>();
  #streaming = false;

  constructor(private readonly options: CdcReaderOptions) {
    super();
  }

  /** Switched off in the fusebox: the slot is not read (Postgres keeps its WAL), nothing is published. */
  get paused(): boolean {
    return this.options.enabled?.enabled === false;
  }

  /** Whether this reader holds the slot and streams from it now. */
  get streaming(): boolean {
    return this.#streaming;
  }

  /** Commit time of the oldest transaction received and not yet committed in Kafka, in ms. */
  get oldestUnpublishedCommitMs(): number | undefined {
    return this.#unpublished.values().next().value;
  }

  protected async run(signal: AbortSignal): Promise<void> {
    for (let attempt = 0; !signal.aborted; attempt++) {
      if (this.paused) {
        log.info('reader paused by the fusebox: the slot is not read, its WAL is kept');
        await this.#whileSwitchedOff(signal);
        if (signal.aborted) return;
        log.info('reader resumed by the fusebox');
      }
      // Ends the stream when the fusebox switches the reader off; the slot stays where it was confirmed.
      const session = new AbortController();
      const endSession = () => session.abort();
      signal.addEventListener('abort', endSession, { once: true });
      const unsubscribe = this.options.enabled?.onChange(() => {
        if (this.paused) session.abort();
      });
      try {
        // A fresh pipeline per stream: after a failure nothing queued behind it may be sent.
        const publishing = new PublishSession(this.options.publisher);
        // Snapshots run only while this session streams (their chunks wait for the stream's HIGH
        // watermarks), and only once it holds the slot: a standby must not read chunks.
        const snapshots = new AbortController();
        const stopSnapshots = () => snapshots.abort();
        session.signal.addEventListener('abort', stopSnapshots, { once: true });
        let snapshotting: Promise<void> | undefined;
        const startSnapshots = () => {
          snapshotting ??= this.options.snapshotter?.run(snapshots.signal).catch(() => undefined);
        };
        try {
          await this.options.source.stream((segment) => this.#publish(publishing, segment), session.signal, () => {
            this.#streaming = true;
            startSnapshots();
          });
        } finally {
          this.#streaming = false;
          this.#unpublished.clear();
          snapshots.abort();
          session.signal.removeEventListener('abort', stopSnapshots);
          await snapshotting;
          // Before the producer closes: the pipeline's last send or commit must not run after it
          // (or against the next stream's producer), and what can no longer commit is failed.
          await publishing.pipeline.close();
          await this.options.publisher.close();
        }
        attempt = -1;
      } catch (error: unknown) {
        if (signal.aborted) return;
        if (isAbortError(error) && this.paused) continue;
        if (isAbortError(error)) return;
        if (error instanceof UnrecoverableError) throw error;
        this.options.metrics.reconnects.inc();
        const waitMs = backoffMs(attempt, 200, maxReconnectWaitMs);
        log.warn('replication stream failed; reconnecting', { error: errorMessage(error), retryInMs: waitMs });
        await sleep(waitMs, signal).catch(() => undefined);
      } finally {
        signal.removeEventListener('abort', endSession);
        unsubscribe?.();
      }
    }
  }

  /** Waits until the fusebox switches the reader on again (or shutdown). */
  async #whileSwitchedOff(signal: AbortSignal): Promise<void> {
    await new Promise<void>((resolve) => {
      const done = () => {
        unsubscribe?.();
        signal.removeEventListener('abort', done);
        resolve();
      };
      const unsubscribe = this.options.enabled?.onChange(() => {
        if (!this.paused) done();
      });
      signal.addEventListener('abort', done, { once: true });
      if (!this.paused) done();
    });
  }

  /**
   * Publishes a segment. A small transaction is taken in without a promise of its own when the
   * pipeline has room and Kafka's published position is known; otherwise this returns a promise.
   */
  #publish(session: PublishSession, segment: SourceSegment): TransactionReceipt | Promise<TransactionReceipt> {
    const transaction = session.transactionOf(segment, this.options.topicPrefix, this.options.eventFormat);
    if (segment.commitEndLsn !== undefined) session.endTransaction();
    if (!this.#unpublished.has(segment.commitLsn)) this.#unpublished.set(segment.commitLsn, segment.commitTimeMs);
    const records = transaction.builder.records(segment.changes);
    const chunks = this.#snapshotChunks(session, segment, transaction.builder, records);
    // Taken chunks are this reader's to settle: their snapshotter waits for them.
    const failChunks = (error: unknown): never => {
      for (const chunk of chunks) chunk.failed(error);
      throw error;
    };
    try {
      const receipt = this.#publishRecords(session, segment, transaction, records, chunks);
      return receipt instanceof Promise ? receipt.catch(failChunks) : receipt;
    } catch (error: unknown) {
      return failChunks(error);
    }
  }

  #publishRecords(session: PublishSession, segment: SourceSegment, transaction: StreamedTransaction, records: TopicRecord[], chunks: SnapshotChunk[]): TransactionReceipt | Promise<TransactionReceipt> {
    // Decided at the transaction's first records (its commit LSN is known from BEGIN on).
    if (transaction.skip === undefined && records.length > 0) {
      const published = session.alreadyPublished(segment.commitLsn);
      if (published instanceof Promise) {
        return published.then((skip) => {
          transaction.skip = skip;
          return this.#publishDecided(session, segment, transaction, records, chunks);
        });
      }
      transaction.skip = published;
    }
    return this.#publishDecided(session, segment, transaction, records, chunks);
  }

  #publishDecided(session: PublishSession, segment: SourceSegment, transaction: StreamedTransaction, records: TopicRecord[], chunks: SnapshotChunk[]): TransactionReceipt | Promise<TransactionReceipt> {
    const { metrics } = this.options;
    const ends = segment.commitEndLsn !== undefined;
    const { commitLsn } = segment;
    if (transaction.skip === true) {
      // Kafka committed it before the last crash; only the slot's confirmation was lost.
      if (ends) metrics.transactionsSkipped.inc();
      if (ends) this.#unpublished.delete(commitLsn);
      for (const chunk of chunks) chunk.failed(new Error('snapshot chunk met an already published watermark'));
      return { durable: Promise.resolve() };
    }
    transaction.records += records.length;
    // Counted now: the records themselves must not be kept until the Kafka commit.
    const published = new Map<string, { table: string; op: string; count: number }>();
    for (const { event } of records) {
      if (!event) continue;
      const key = `${event.source.table}/${event.op}`;
      const entry = published.get(key) ?? { table: event.source.table, op: event.op, count: 0 };
      entry.count++;
      published.set(key, entry);
    }
    const endsAt = ends ? commitLsn : undefined;
    // MEMORY: the callbacks below live until the Kafka commit; they must not hold the segment (its
    // row images) or the records, or a huge transaction would stay in memory whole.
    const { commitTimeMs } = segment;
    const watch = (receipt: TransactionReceipt): TransactionReceipt => {
      this.#whenDurable(receipt, { ends, commitLsn, commitTimeMs, transaction, chunks, published });
      return receipt;
    };
    const offered = session.pipeline.offer(records, endsAt);
    return offered ? watch(offered) : session.pipeline.submit(records, endsAt).then(watch);
  }

  #whenDurable(
    receipt: TransactionReceipt,
    done: { ends: boolean; commitLsn: Lsn; commitTimeMs: number; transaction: StreamedTransaction; chunks: SnapshotChunk[]; published: Map<string, { table: string; op: string; count: number }> },
  ): void {
    const { metrics } = this.options;
    const { ends, commitLsn, commitTimeMs, transaction, chunks, published } = done;
    receipt.durable.then(
      () => {
        if (ends) this.#unpublished.delete(commitLsn);
        for (const chunk of chunks) chunk.published();
        for (const { table, op, count } of published.values()) metrics.eventsPublished.inc({ table, op }, count);
        if (!ends) return;
        const commitToPublishMs = Math.max(0, Date.now() - commitTimeMs);
        if (transaction.records > 0) metrics.commitToPublishSeconds.observe(commitToPublishMs / 1000);
        metrics.transactionsPublished.inc();
        this.options.onDurable?.(commitToPublishMs, transaction.records);
      },
      (error: unknown) => {
        for (const chunk of chunks) chunk.failed(error);
      },
    );
  }

  /**
   * DBLog watermarks: the keys of changes seen between a chunk's LOW and HIGH are noted; at HIGH,
   * the chunk's other rows join this transaction's records as `r` events (a row changed meanwhile
   * is left to its change event, which is newer). Returns the chunks published with these records.
   */
  #snapshotChunks(session: PublishSession, segment: SourceSegment, builder: TransactionRecordBuilder, records: TopicRecord[]): SnapshotChunk[] {
    if (session.openChunks.size > 0) {
      for (const change of segment.changes) {
        for (const row of [change.before, change.after]) {
          if (!row) continue;
          const key = messageKey(change.table, row);
          for (const keys of session.openChunks.values()) keys.add(key);
        }
      }
    }
    const chunks: SnapshotChunk[] = [];
    for (const { chunk: id, mark } of segment.marks ?? []) {
      if (mark === 'low') {
        session.openChunks.set(id, new Set());
        continue;
      }
      const changed = session.openChunks.get(id) ?? new Set<string>();
      session.openChunks.delete(id);
      // Absent when another process (or an earlier incarnation) read it: it is read again.
      const chunk = this.options.snapshotter?.take(id);
      if (!chunk) continue;
      const rows = chunk.rows.filter((row) => !changed.has(messageKey(chunk.table, row)));
      records.push(...builder.snapshotRecords(chunk.table, rows));
      chunks.push(chunk);
    }
    return chunks;
  }
}

/**
 * One replication stream's publishing. The publisher is opened (taking over the transactional id,
 * reading back the published position) only when the first transaction with records arrives: a
 * standby reader waiting for the slot must not fence the active one.
 */
class PublishSession {
  readonly pipeline: PublishPipeline;
  /** Snapshot chunks between their LOW and HIGH watermarks: the keys changed meanwhile. */
  readonly openChunks = new Map<string, Set<string>>();
  #opening: Promise<void> | undefined;
  /** Kafka's published position, once read (`lsn` undefined: nothing published yet). */
  #publishedPosition: { lsn: Lsn | undefined } | undefined;
  #current: StreamedTransaction | undefined;

  constructor(private readonly publisher: KafkaPublisher) {
    this.pipeline = new PublishPipeline(publisher);
  }

  /** The transaction this segment belongs to (a new one at its first segment). */
  transactionOf(segment: SourceSegment, topicPrefix: string, format: EventFormat = 'debezium-json'): StreamedTransaction {
    if (this.#current?.commitLsn !== segment.commitLsn) {
      this.#current = { commitLsn: segment.commitLsn, builder: new TransactionRecordBuilder(segment, topicPrefix, Date.now, format), skip: undefined, records: 0 };
    }
    return this.#current;
  }

  endTransaction(): void {
    this.#current = undefined;
  }

  /**
   * Whether Kafka already holds the transaction committed at `commitLsn` (published before a
   * crash): a promise until the publisher is open and its position read, then answered at once.
   */
  alreadyPublished(commitLsn: Lsn): boolean | Promise<boolean> {
    const known = this.#publishedPosition;
    if (known) return known.lsn !== undefined && commitLsn <= known.lsn;
    this.#opening ??= this.publisher.open().then((lsn) => {
      this.#publishedPosition = { lsn };
    });
    return this.#opening.then(() => this.alreadyPublished(commitLsn));
  }
}

interface StreamedTransaction {
  commitLsn: Lsn;
  builder: TransactionRecordBuilder;
  /** Undefined until its first change: then whether Kafka already has it. */
  skip: boolean | undefined;
  records: number;
}
