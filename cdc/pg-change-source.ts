import { LogicalReplicationService, type Pgoutput } from 'pg-logical-replication';
import pg from 'pg';
import { sleep } from '../infra/runtime/service';
import type { ChangeSource, SourceSegment, TransactionReceipt } from './change-source';
import { formatLsn, maxLsn, type Lsn } from './lsn';
import { EnvelopePgoutputPlugin } from './pgoutput-plugin';
import { ensurePublication, ensureSlot, verifyPrimaryKeys } from './replication-slot';
import { DurabilityQueue } from './durability-queue';
import { SegmentRelay, type Flow } from './segment-relay';
import { TransactionAssembler } from './transaction-assembler';
import { survivePoolErrors } from '../infra/runtime/pg-pool-errors';
import { UnrecoverableError } from '../infra/runtime/errors';

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

/** The socket of the library's replication connection (see `flowControl` in `stream`). */
function replicationSocket(replication: LogicalReplicationService): Flow | undefined {
  return (replication as unknown as { _connection?: { stream?: Flow } | null })._connection?.stream;
}

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
 * a crash, so the timer is disabled with `timeoutSeconds: 0`. While a segment waits to be taken in
 * (Kafka is slow), the socket is paused, so a slow Kafka slows the stream instead of filling memory.
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

  async stream(onSegment: (segment: SourceSegment) => TransactionReceipt | Promise<TransactionReceipt>, signal: AbortSignal, onStreaming?: () => void): Promise<void> {
    signal.throwIfAborted();
    let confirmedLsn: Lsn = await this.prepare();
    const database = new URL(this.options.connectionString).pathname.slice(1);

    // The library's own flow control awaits every WAL message through an EventEmitter (several
    // promises per message, most of a small transaction's cost); the relay below pauses the
    // socket only while a hand-over actually waits.
    const replication = new LogicalReplicationService(
      { connectionString: this.options.connectionString },
      { acknowledge: { auto: false, timeoutSeconds: 0 }, flowControl: { enabled: false } },
    );
    const assembler = new TransactionAssembler(database);
    let failure: unknown;
    /** Handed-over transactions in commit order, waiting for their durability; the head moves the slot. */
    const awaitingDurable = new DurabilityQueue();
    let lastConfirmedAt = 0;
    let relay: SegmentRelay<SourceSegment> | undefined;

    const ended = new Promise<void>((resolve, reject) => {
      const finish = (error?: unknown): void => {
        // Remember only the first failure; later messages must not be acknowledged past it.
        if (error !== undefined && failure === undefined) failure = error;
        // Segments still queued for hand-over come after the stop or failure: none may be published.
        relay?.close();
        void replication
          .stop()
          .catch(() => undefined)
          // A hand-over under way finishes; receipts are not awaited: a transaction whose last
          // segments were dropped never becomes durable (the consumer fails it when it stops), and
          // nothing is confirmed after the stop anyway.
          .then(() => relay?.idle())
          .catch(() => undefined)
          .then(() => (failure === undefined ? resolve() : reject(failure)));
      };
      // The signal may have fired while prepare() ran: a listener added now would never be called.
      if (signal.aborted) finish();
      else signal.addEventListener('abort', () => finish(), { once: true });

      /** Runs as each transaction's receipt becomes durable; confirms the durable prefix. */
      const confirmDurable = (): void => {
        if (failure !== undefined) return;
        const durableUpTo = awaitingDurable.takeDurable();
        if (durableUpTo === undefined) return;
        // DURABILITY: Kafka has committed every event of this transaction and of every earlier
        // one. Only now may the slot's flush position pass its commit record.
        confirmedLsn = maxLsn(confirmedLsn, durableUpTo);
        // One Kafka commit makes many source transactions durable at once: the last of them
        // confirms them all (the flush position covers every commit before it), instead of one
        // status message to Postgres each. A steady stream still confirms every
        // `confirmEveryMs`, so the slot does not hold WAL for long.
        const now = performance.now();
        if (awaitingDurable.size > 0 && now - lastConfirmedAt < confirmEveryMs) return;
        lastConfirmedAt = now;
        confirmFlushedUpTo(replication, confirmedLsn).catch((error: unknown) => finish(error));
      };

      relay = new SegmentRelay<SourceSegment>(
        (segment) => {
          const receipt = onSegment(segment);
          if (!(receipt instanceof Promise)) return this.#watchDurability(segment, receipt, awaitingDurable, confirmDurable, finish);
          return receipt.then((taken) => this.#watchDurability(segment, taken, awaitingDurable, confirmDurable, finish));
        },
        {
          // The library keeps its pg connection in `_connection`; its own flow control pauses the
          // same socket. Messages already read still arrive and queue in the relay (one read's worth).
          pause: () => replicationSocket(replication)?.pause(),
          resume: () => replicationSocket(replication)?.resume(),
        },
        (error) => finish(error),
      );
      const segments = relay;

      replication.on('data', (lsn: string, message: Pgoutput.Message) => {
        // Messages still arrive after a failure (the rest of a socket read); once one failed,
        // nothing after it may be published or acknowledged.
        if (failure !== undefined || signal.aborted) return;
        let segment: SourceSegment | undefined;
        try {
          segment = assembler.accept(lsn, message);
        } catch (error: unknown) {
          finish(error);
          return;
        }
        // Most messages (BEGIN, RELATION, a row of an unfinished segment) complete nothing.
        if (segment) segments.push(segment);
      });
      replication.on('heartbeat', (_lsn: string, _timestamp: number, shouldRespond: boolean) => {
        // A keepalive that asks for a reply must get one within wal_sender_timeout or Postgres
        // drops us. Reply with the last *durable* position, never the keepalive's own LSN, which
        // may be ahead of transactions still being published.
        if (shouldRespond) void confirmFlushedUpTo(replication, confirmedLsn).catch((error: unknown) => finish(error));
      });
      replication.on('error', (error: Error) => finish(error));
      // Postgres accepted START_REPLICATION: this process holds the slot now.
      replication.on('start', () => {
        // Without the socket, a stalled Kafka would let the WAL pile up in memory: refuse to stream.
        const socket = replicationSocket(replication);
        if (typeof socket?.pause !== 'function' || typeof socket.resume !== 'function') {
          finish(new UnrecoverableError('CDC_REPLICATION_SOCKET_UNAVAILABLE', 'the replication connection exposes no socket to pause: backpressure would not work (pg-logical-replication changed?)', {}));
          return;
        }
        onStreaming?.();
      });

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
   * On a transaction's last segment, queues its commit for confirmation once its receipt is
   * durable (an earlier segment is half a transaction: it never moves the slot).
   */
  #watchDurability(segment: SourceSegment, receipt: TransactionReceipt, queue: DurabilityQueue, confirm: () => void, fail: (error: unknown) => void): void {
    const { commitEndLsn } = segment;
    if (commitEndLsn === undefined) return;
    const entry = queue.add(commitEndLsn);
    receipt.durable
      .then(() => {
        entry.durable = true;
        confirm();
      })
      // A rejected receipt, or a confirmation that threw: either ends the stream.
      .catch((error: unknown) => fail(error));
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

  async close(): Promise<void> {
    await this.#catalog.end();
  }
}
