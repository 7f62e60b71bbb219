import { LogicalReplicationService, type Pgoutput } from 'pg-logical-replication';
import pg from 'pg';
import { sleep } from '../infra/runtime/service';
import type { ChangeSource, SourceSegment, TransactionReceipt } from './change-source';
import { formatLsn, maxLsn, type Lsn } from './lsn';
import { EnvelopePgoutputPlugin } from './pgoutput-plugin';
import { ensurePublication, ensureSlot, verifyPrimaryKeys } from './replication-slot';
import { TransactionAssembler } from './transaction-assembler';
import { survivePoolErrors } from '../infra/runtime/pg-pool-errors';

export interface PgChangeSourceOptions {
  connectionString: string;
  slot: string;
  publication: string;
  /** Interval of WAL heartbeats while streaming, in ms; 0 for none. */
  heartbeatIntervalMs?: number;
}

/**
 * While transactions keep becoming durable, the slot is confirmed at most this often, ms (always at
 * the last one of a run): one status message per Kafka commit instead of one per source transaction.
 */
const confirmEveryMs = 20;

/** Prefix of the reader's heartbeat messages in the WAL. */
export const heartbeatPrefix = 'stack-sync-heartbeat';

/**
 * Tells Postgres that everything before `end` (a commit record's end, exclusive) is flushed.
 * pg-logical-replication's `acknowledge` reports the LSN it is given plus one, as if given the
 * last byte; the next transaction's commit record may start exactly at `end`, and a slot
 * confirmed one byte past it skips that transaction at the next start (a crash test lost
 * committed deletes that way). So it is given the last byte.
 */
async function confirmFlushedUpTo(replication: LogicalReplicationService, end: Lsn): Promise<void> {
  if (end <= 0n) return;
  await replication.acknowledge(formatLsn(end - 1n));
}

/**
 * The WAL of the internal database through a pgoutput logical slot (pg-logical-replication).
 *
 * Acknowledgement is manual and only at commit boundaries: `acknowledge.auto: false` alone still
 * acknowledges the last *received* LSN on a 10 s timer, which silently loses unpublished data after
 * a crash, so the timer is disabled with `timeoutSeconds: 0`. Flow control makes the library await
 * each handler, so a slow Kafka slows the stream instead of filling memory.
 */
export class PgChangeSource implements ChangeSource {
  readonly #catalog: pg.Pool;

  constructor(private readonly options: PgChangeSourceOptions) {
    this.#catalog = new pg.Pool({ connectionString: options.connectionString, max: 2 });
    // An idle pooled connection that the server ends emits 'error' on the pool; unhandled, that
    // would crash the process. The next query reports the problem where it can be handled.
    survivePoolErrors(this.#catalog);
  }

  get catalog(): pg.Pool {
    return this.#catalog;
  }

  /**
   * Checks the schema and creates the publication and slot if missing; returns the slot's confirmed
   * flush LSN. Changes committed before the slot exists are not in its stream, so callers create
   * it before accepting writes (snapshots of older rows are a separate mechanism).
   */
  async prepare(): Promise<Lsn> {
    await verifyPrimaryKeys(this.#catalog);
    await ensurePublication(this.#catalog, this.options.publication);
    return ensureSlot(this.#catalog, this.options.slot);
  }

  async stream(onSegment: (segment: SourceSegment) => Promise<TransactionReceipt>, signal: AbortSignal, onStreaming?: () => void): Promise<void> {
    signal.throwIfAborted();
    let confirmedLsn: Lsn = await this.prepare();
    const database = new URL(this.options.connectionString).pathname.slice(1);

    const replication = new LogicalReplicationService(
      { connectionString: this.options.connectionString },
      { acknowledge: { auto: false, timeoutSeconds: 0 }, flowControl: { enabled: true } },
    );
    const assembler = new TransactionAssembler(database);
    let failure: unknown;
    let inFlight: Promise<void> = Promise.resolve();
    // Confirmations happen one after another, in commit order, each after its transaction's
    // receipt became durable.
    let confirmations: Promise<void> = Promise.resolve();
    /** Transactions handed over whose confirmation has not run yet. */
    let unconfirmed = 0;
    let lastConfirmedAt = 0;

    const ended = new Promise<void>((resolve, reject) => {
      const finish = (error?: unknown): void => {
        // Remember only the first failure; later messages must not be acknowledged past it.
        if (error !== undefined && failure === undefined) failure = error;
        void replication
          .stop()
          .catch(() => undefined)
          .then(() => inFlight)
          .catch(() => undefined)
          .then(() => confirmations)
          .catch(() => undefined)
          .then(() => (failure === undefined ? resolve() : reject(failure)));
      };
      // The signal may have fired while prepare() ran: a listener added now would never be called.
      if (signal.aborted) finish();
      else signal.addEventListener('abort', () => finish(), { once: true });

      // Flow control makes the library await this handler before it reads on: segments are
      // taken in one at a time, so a huge transaction streams through in bounded memory.
      replication.on('data', (lsn: string, message: Pgoutput.Message) => {
        // The library keeps delivering queued messages after a handler failed; once one failed,
        // nothing after it may be published or acknowledged.
        if (failure !== undefined || signal.aborted) return;
        let segment: SourceSegment | undefined;
        try {
          segment = assembler.accept(lsn, message);
        } catch (error: unknown) {
          finish(error);
          return;
        }
        // Most messages (BEGIN, RELATION, a row of an unfinished segment) complete nothing: they
        // return at once, without the promises a published segment needs.
        if (!segment) return;
        const handled = this.#handOver(segment, onSegment, (commitEndLsn, durable) => {
          unconfirmed++;
          confirmations = confirmations.then(async () => {
            try {
              await durable;
            } finally {
              unconfirmed--;
            }
            if (failure !== undefined) return;
            // DURABILITY: `durable` resolved, so Kafka has committed every event of this
            // transaction and of every earlier one. Only now may the slot's flush position pass
            // its commit record.
            confirmedLsn = maxLsn(confirmedLsn, commitEndLsn);
            // One Kafka commit makes many source transactions durable at once: the last of them
            // confirms them all (the flush position covers every commit before it), instead of
            // one status message to Postgres each. A steady stream still confirms every
            // `confirmEveryMs`, so the slot does not hold WAL for long.
            const now = performance.now();
            if (unconfirmed > 0 && now - lastConfirmedAt < confirmEveryMs) return;
            lastConfirmedAt = now;
            await confirmFlushedUpTo(replication, confirmedLsn);
          });
          confirmations.catch((error: unknown) => finish(error));
        });
        inFlight = handled.catch(() => undefined);
        return handled.catch((error: unknown) => finish(error));
      });
      replication.on('heartbeat', (_lsn: string, _timestamp: number, shouldRespond: boolean) => {
        // A keepalive that asks for a reply must get one within wal_sender_timeout or Postgres
        // drops us. Reply with the last *durable* position, never the keepalive's own LSN, which
        // may be ahead of transactions still being published.
        if (shouldRespond) void confirmFlushedUpTo(replication, confirmedLsn).catch((error: unknown) => finish(error));
      });
      replication.on('error', (error: Error) => finish(error));
      // Postgres accepted START_REPLICATION: this process holds the slot now.
      replication.on('start', () => onStreaming?.());

      // Starting at 0/0 makes Postgres resume at the slot's confirmed flush LSN.
      replication.subscribe(new EnvelopePgoutputPlugin([this.options.publication]), this.options.slot, '0/0').then(
        () => finish(signal.aborted ? undefined : new Error('replication stream ended')),
        (error: unknown) => finish(error),
      );
    });
    const heartbeats = new AbortController();
    const beating = this.#heartbeat(heartbeats.signal);
    try {
      await ended;
    } finally {
      heartbeats.abort();
      await beating;
      await replication.destroy().catch(() => undefined);
    }
  }

  /**
   * Writes a transactional logical message every interval. It arrives as an empty transaction,
   * which the reader confirms like any other once everything before it is durable: the slot then
   * releases WAL that only other tables wrote, instead of pinning it until the disk fills.
   */
  async #heartbeat(signal: AbortSignal): Promise<void> {
    const interval = this.options.heartbeatIntervalMs ?? 0;
    if (interval <= 0) return;
    while (!signal.aborted) {
      try {
        await sleep(interval, signal);
        await this.#catalog.query('SELECT pg_logical_emit_message(true, $1, $2)', [heartbeatPrefix, '']);
      } catch {
        // Aborted, or the database is away: the stream itself reports that.
      }
    }
  }

  /**
   * Hands a segment to the consumer; on a transaction's last segment, passes its receipt's
   * durability to `confirm` (an earlier segment is half a transaction: it never moves the slot).
   */
  async #handOver(
    segment: SourceSegment,
    onSegment: (segment: SourceSegment) => Promise<TransactionReceipt>,
    confirm: (commitEndLsn: Lsn, durable: Promise<void>) => void,
  ): Promise<void> {
    const { durable } = await onSegment(segment);
    const { commitEndLsn } = segment;
    if (commitEndLsn !== undefined) confirm(commitEndLsn, durable);
  }

  async close(): Promise<void> {
    await this.#catalog.end();
  }
}
