import { randomUUID } from 'node:crypto';
import pg from 'pg';
import { z } from 'zod';
import { sourcePrimaryKeys, type RowImage, type SourceTable } from '../schema/change-event';
import { errorMessage } from '../infra/runtime/errors';
import { logger } from '../infra/runtime/log';
import { sleep } from '../infra/runtime/service';
import { waitFor } from '../infra/wait-for';
import { valueDecoderFor } from './pg-value-decoder';

const log = logger('cdc');

/** Prefix of the watermark messages the snapshotter writes into the WAL. */
export const snapshotPrefix = 'stack-sync-snapshot';

/** A watermark as the reader finds it in the stream. */
export const snapshotMarkSchema = z.object({ chunk: z.string().min(1), mark: z.enum(['low', 'high']) });
export type SnapshotMark = z.infer<typeof snapshotMarkSchema>;

/** Tables in the order a snapshot reads them (users before their channels). */
const snapshotTables: readonly SourceTable[] = ['ProjectUser', 'ContactChannel'];

interface SnapshotRequest {
  id: string;
  tenancyId: string | null;
  sourceTable: SourceTable;
  lastKey: string[] | null;
}

/** A chunk read between its watermarks, waiting for the reader to reach the high one. */
export interface SnapshotChunk {
  table: SourceTable;
  rows: RowImage[];
  /** The reader calls this once the chunk's rows are committed in Kafka. */
  published(): void;
  failed(error: unknown): void;
}

function quote(name: string): string {
  return `"${name.replaceAll('"', '""')}"`;
}

/** Asks the reader on `slot` to snapshot one tenancy (or, with null, all of them). */
export async function requestSnapshot(db: pg.Pool | pg.PoolClient, slot: string, tenancyId: string | null, { merge = true }: { merge?: boolean } = {}): Promise<string> {
  if (!merge) {
    return (await db.query<{ id: string }>(`INSERT INTO "CdcSnapshot" ("slotName", "tenancyId") VALUES ($1, $2) RETURNING id::text`, [slot, tenancyId])).rows[0]!.id;
  }
  const client = db instanceof pg.Pool ? await db.connect() : db;
  const owned = client !== db;
  try {
    if (owned) await client.query('BEGIN');
    // Requests for the same tenancy are merged while one has not started: a thousand clicks on
    // "re-snapshot" make one snapshot. (One that has published a chunk is not joined: what it
    // published before this request may be what the request wants repaired.) The lock makes the
    // check and the insert one step for concurrent requests.
    await client.query('SELECT pg_advisory_xact_lock(hashtext($1))', [`stack-sync-snapshot-request:${slot}:${tenancyId ?? '*'}`]);
    const pending = await client.query<{ id: string }>(
      `SELECT id::text FROM "CdcSnapshot"
        WHERE "slotName" = $1 AND "tenancyId" IS NOT DISTINCT FROM $2 AND state = 'pending' AND "lastKey" IS NULL AND "sourceTable" = $3
        ORDER BY id LIMIT 1`,
      [slot, tenancyId, snapshotTables[0]],
    );
    const id =
      pending.rows[0]?.id ??
      (await client.query<{ id: string }>(`INSERT INTO "CdcSnapshot" ("slotName", "tenancyId") VALUES ($1, $2) RETURNING id::text`, [slot, tenancyId])).rows[0]!.id;
    if (owned) await client.query('COMMIT');
    return id;
  } catch (error: unknown) {
    if (owned) await client.query('ROLLBACK').catch(() => undefined);
    throw error;
  } finally {
    if (owned) (client as pg.PoolClient).release();
  }
}

/**
 * Snapshots without locking or blocking writes, DBLog style. For each chunk of up to `chunkRows`
 * rows in primary-key order it writes a LOW watermark into the WAL, reads the chunk, and writes a
 * HIGH watermark. The reader, streaming the WAL, notes the keys of every change between LOW and
 * HIGH; at HIGH it publishes the chunk's other rows as `r` events. A row changed meanwhile is left
 * to its change event, which is newer, so every row ends with its latest state. Progress is saved
 * only after a chunk is committed in Kafka: after a crash at most that chunk is read (and
 * published) again.
 */
export class Snapshotter {
  readonly #chunks = new Map<string, SnapshotChunk>();

  constructor(
    private readonly db: pg.Pool,
    private readonly slot: string,
    private readonly chunkRows: number,
    /** Runs between a chunk's read and its HIGH watermark: tests use it to change rows right there. */
    private readonly afterRead?: (table: SourceTable, rows: readonly RowImage[]) => Promise<void>,
    private readonly idleMs = 1_000,
  ) {}

  /** The chunk behind a HIGH watermark, if this process read it (once). */
  take(chunk: string): SnapshotChunk | undefined {
    const found = this.#chunks.get(chunk);
    this.#chunks.delete(chunk);
    return found;
  }

  /** Works through pending requests until `signal` aborts (the reader's stream session ended). */
  async run(signal: AbortSignal): Promise<void> {
    while (!signal.aborted) {
      try {
        const request = await this.#nextRequest();
        if (request) await this.#snapshot(request, signal);
        else await sleep(this.idleMs, signal);
      } catch (error: unknown) {
        if (signal.aborted) return;
        log.warn('snapshot interrupted; retrying', { error: errorMessage(error) });
        await sleep(this.idleMs, signal).catch(() => undefined);
      }
    }
  }

  async #nextRequest(): Promise<SnapshotRequest | undefined> {
    const result = await this.db.query<{ id: string; tenancyId: string | null; sourceTable: string; lastKey: string[] | null }>(
      `SELECT id::text, "tenancyId"::text AS "tenancyId", "sourceTable", "lastKey" FROM "CdcSnapshot"
        WHERE "slotName" = $1 AND state = 'pending' ORDER BY id LIMIT 1`,
      [this.slot],
    );
    const row = result.rows[0];
    if (!row) return undefined;
    const sourceTable = snapshotTables.find((table) => table === row.sourceTable) ?? 'ProjectUser';
    return { id: row.id, tenancyId: row.tenancyId, sourceTable, lastKey: row.lastKey };
  }

  async #snapshot(request: SnapshotRequest, signal: AbortSignal): Promise<void> {
    log.info('snapshot running', { request: request.id, tenancyId: request.tenancyId ?? 'all', table: request.sourceTable });
    for (const table of snapshotTables.slice(snapshotTables.indexOf(request.sourceTable))) {
      let lastKey = table === request.sourceTable ? request.lastKey : null;
      for (let chunkIndex = 0; ; chunkIndex++) {
        signal.throwIfAborted();
        // Unique per read: a watermark replayed after a crash must never match a chunk read since.
        const chunk = `${request.id}:${table}:${chunkIndex}:${randomUUID()}`;
        const { rows, keys } = await this.#chunk(chunk, table, request.tenancyId, lastKey, signal);
        const last = keys.at(-1);
        if (last) {
          lastKey = last;
          await this.db.query(`UPDATE "CdcSnapshot" SET "sourceTable" = $2, "lastKey" = $3 WHERE id = $1`, [request.id, table, JSON.stringify(lastKey)]);
        }
        if (rows < this.chunkRows) break;
      }
      const next = snapshotTables[snapshotTables.indexOf(table) + 1];
      if (next) await this.db.query(`UPDATE "CdcSnapshot" SET "sourceTable" = $2, "lastKey" = NULL WHERE id = $1`, [request.id, next]);
    }
    await this.db.query(`UPDATE "CdcSnapshot" SET state = 'done', "doneAt" = now() WHERE id = $1`, [request.id]);
    log.info('snapshot done', { request: request.id, tenancyId: request.tenancyId ?? 'all' });
  }

  /** LOW, read, HIGH, then wait until the reader has the chunk committed in Kafka. */
  async #chunk(
    chunk: string,
    table: SourceTable,
    tenancyId: string | null,
    after: string[] | null,
    signal: AbortSignal,
  ): Promise<{ rows: number; keys: string[][] }> {
    await this.#mark(chunk, 'low');
    await this.#awaitTransactionsRunningNow(signal);
    const { rows, keys } = await this.#read(table, tenancyId, after);
    await this.afterRead?.(table, rows);
    // A listener added to an already aborted signal never runs: the chunk would wait forever.
    signal.throwIfAborted();
    let fail: (error: unknown) => void = () => undefined;
    const published = new Promise<void>((resolve, reject) => {
      fail = reject;
      this.#chunks.set(chunk, { table, rows, published: resolve, failed: reject });
    });
    // It may fail while HIGH is still being written; that rejection is awaited just below.
    published.catch(() => undefined);
    // Fails the chunk also once the reader has taken it: a reader whose publishing broke before it
    // settled the chunk (the broker killed while its producer opened) left this wait, and with it
    // the reader's end of session, hanging for good (seen in e2e/kafka-broker-restart).
    const abort = () => fail(signal.reason);
    signal.addEventListener('abort', abort, { once: true });
    try {
      await this.#mark(chunk, 'high');
      await published;
    } finally {
      signal.removeEventListener('abort', abort);
      this.#chunks.delete(chunk);
    }
    return { rows: rows.length, keys };
  }

  /**
   * Until every transaction running now (just after LOW) has ended. Postgres writes a commit
   * record before it marks the transaction finished, so one committed just before LOW can still be
   * invisible to a read right after it, while the stream delivers its change before LOW, outside
   * the window: the chunk's stale copy of the row would then be published after it. A long
   * transaction delays the chunk; past the timeout the chunk is retried with a new LOW.
   */
  async #awaitTransactionsRunningNow(signal: AbortSignal): Promise<void> {
    const running = await this.db.query<{ xid: string }>('SELECT pg_snapshot_xip(pg_current_snapshot())::text AS xid');
    const xids = running.rows.map((row) => row.xid);
    if (xids.length === 0) return;
    await waitFor(
      'the transactions running at a snapshot chunk\'s LOW watermark to end',
      async () => {
        const still = await this.db.query<{ n: number }>(
          'SELECT count(*)::int AS n FROM unnest($1::xid8[]) AS xid WHERE xid = ANY (ARRAY(SELECT pg_snapshot_xip(pg_current_snapshot())))',
          [xids],
        );
        return still.rows[0]!.n === 0;
      },
      { timeoutMs: 600_000, intervalMs: 10, signal },
    );
  }

  async #mark(chunk: string, mark: SnapshotMark['mark']): Promise<void> {
    await this.db.query('SELECT pg_logical_emit_message(true, $1, $2)', [snapshotPrefix, JSON.stringify({ chunk, mark })]);
  }

  /** Up to `chunkRows` rows after `after` in primary-key order, decoded exactly as pgoutput's text values are. */
  async #read(table: SourceTable, tenancyId: string | null, after: string[] | null): Promise<{ rows: RowImage[]; keys: string[][] }> {
    const key = sourcePrimaryKeys[table];
    const keyList = key.map(quote).join(', ');
    const values: unknown[] = [];
    const where: string[] = [];
    if (tenancyId !== null) {
      values.push(tenancyId);
      where.push(`"tenancyId" = $${values.length}`);
    }
    if (after !== null) {
      const placeholders = after.map((value) => {
        values.push(value);
        return `$${values.length}`;
      });
      where.push(`(${keyList}) > (${placeholders.join(', ')})`);
    }
    values.push(this.chunkRows);
    const result = await this.db.query<string[]>({
      text: `SELECT * FROM ${quote(table)}${where.length > 0 ? ` WHERE ${where.join(' AND ')}` : ''} ORDER BY ${keyList} LIMIT $${values.length}`,
      values,
      rowMode: 'array',
      // Every value as Postgres prints it, like pgoutput's text format: decoded by the same decoders.
      types: { getTypeParser: () => (text: string) => text },
    });
    const decoders = result.fields.map((field) => valueDecoderFor(field.dataTypeID));
    const names = result.fields.map((field) => field.name);
    const keyIndexes = key.map((column) => names.indexOf(column));
    const rows: RowImage[] = [];
    const keys: string[][] = [];
    for (const raw of result.rows) {
      const row: RowImage = {};
      raw.forEach((text, index) => {
        row[names[index]!] = text === null ? null : decoders[index]!(text);
      });
      rows.push(row);
      keys.push(keyIndexes.map((index) => String(raw[index])));
    }
    return { rows, keys };
  }
}
