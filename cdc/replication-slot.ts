import type pg from 'pg';
import { sourcePrimaryKeys, type SourceTable } from '../schema/change-event';
import { sqlState, UnrecoverableError } from '../infra/runtime/errors';
import { logger } from '../infra/runtime/log';
import { parseLsn, type Lsn } from './lsn';
import { requestSnapshot } from './snapshotter';

const log = logger('cdc');

function quoteIdent(name: string): string {
  return `"${name.replaceAll('"', '""')}"`;
}

/** Creates the publication over the source tables unless it exists. */
export async function ensurePublication(db: pg.Pool, publication: string): Promise<void> {
  const found = await db.query('SELECT 1 FROM pg_publication WHERE pubname = $1', [publication]);
  if (found.rowCount !== 0) return;
  await db.query(
    `CREATE PUBLICATION ${quoteIdent(publication)} FOR TABLE "ProjectUser", "ContactChannel" WITH (publish = 'insert, update, delete')`,
  );
}

/**
 * Creates the logical slot unless it exists and returns its confirmed flush LSN: where the stream
 * resumes, since everything before it is already durable in Kafka.
 *
 * A slot that existed once (recorded in "CdcSlot") but is now missing, or lost its WAL, cannot
 * tell what changed since its last position. It is replaced by a new slot that starts with a
 * snapshot of every tenancy, so the rows as they are now reach Kafka — never a quiet restart from
 * "now". (Rows deleted in the gap are not in any snapshot: see the README.)
 */
export async function ensureSlot(db: pg.Pool, slot: string): Promise<Lsn> {
  const existing = await db.query<{ plugin: string; slot_type: string; confirmed_flush_lsn: string | null; wal_status: string | null }>(
    'SELECT plugin, slot_type, confirmed_flush_lsn::text, wal_status FROM pg_replication_slots WHERE slot_name = $1',
    [slot],
  );
  const row = existing.rows[0];
  if (row) {
    if (row.slot_type !== 'logical' || row.plugin !== 'pgoutput') {
      throw new UnrecoverableError('CDC_SLOT_MISMATCH', `slot ${slot} exists but is ${row.slot_type}/${row.plugin}, not logical/pgoutput`, { slot });
    }
    if (row.wal_status === 'lost') {
      log.error('replication slot lost its WAL; replacing it and snapshotting every tenancy', { code: 'CDC_SLOT_LOST', slot });
      await db.query('SELECT pg_drop_replication_slot($1)', [slot]);
      return createSlot(db, slot);
    }
    if (row.confirmed_flush_lsn) {
      await recordSlot(db, slot, row.confirmed_flush_lsn);
      return parseLsn(row.confirmed_flush_lsn);
    }
  }
  const known = await db.query<{ createdAtLsn: string }>('SELECT "createdAtLsn" FROM "CdcSlot" WHERE "slotName" = $1', [slot]);
  if (!row && known.rows[0]) {
    log.error('replication slot is gone; creating a new one and snapshotting every tenancy', { code: 'CDC_SLOT_LOST', slot, createdAtLsn: known.rows[0].createdAtLsn });
  }
  return createSlot(db, slot);
}

async function createSlot(db: pg.Pool, slot: string): Promise<Lsn> {
  // Rows that existed before the slot are not in its stream: a new slot starts with a snapshot.
  // Asked for before the slot exists, so that a crash in between cannot leave a slot without it
  // (a second request after such a crash only publishes the rows as r events twice).
  // Its own request, never merged: a reader that loses the creation race deletes it below.
  const snapshot = await requestSnapshot(db, slot, null, { merge: false });
  try {
    const created = await db.query<{ lsn: string }>("SELECT lsn::text FROM pg_create_logical_replication_slot($1, 'pgoutput')", [slot]);
    await db.query(
      `INSERT INTO "CdcSlot" ("slotName", "createdAtLsn") VALUES ($1, $2)
       ON CONFLICT ("slotName") DO UPDATE SET "createdAtLsn" = excluded."createdAtLsn", "createdAt" = now()`,
      [slot, created.rows[0]!.lsn],
    );
    return parseLsn(created.rows[0]!.lsn);
  } catch (error: unknown) {
    // 42710 duplicate_object: another reader created it a moment ago, with its own request.
    if (sqlState(error) === '42710') {
      await db.query(`DELETE FROM "CdcSnapshot" WHERE id = $1 AND state = 'pending'`, [snapshot]);
      return ensureSlot(db, slot);
    }
    throw error;
  }
}

async function recordSlot(db: pg.Pool, slot: string, lsn: string): Promise<void> {
  await db.query('INSERT INTO "CdcSlot" ("slotName", "createdAtLsn") VALUES ($1, $2) ON CONFLICT DO NOTHING', [slot, lsn]);
}

/** The envelope's message keys assume the contract's primary keys: check them against the catalog. */
export async function verifyPrimaryKeys(db: pg.Pool): Promise<void> {
  const result = await db.query<{ table_name: string; columns: string[] }>(
    `SELECT c.relname AS table_name, array_agg(a.attname::text ORDER BY k.ord) AS columns
       FROM pg_index i
       JOIN pg_class c ON c.oid = i.indrelid
       JOIN pg_namespace n ON n.oid = c.relnamespace AND n.nspname = 'public'
       CROSS JOIN LATERAL unnest(i.indkey) WITH ORDINALITY AS k(attnum, ord)
       JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum = k.attnum
      WHERE i.indisprimary AND c.relname = ANY($1)
      GROUP BY c.relname`,
    [Object.keys(sourcePrimaryKeys)],
  );
  for (const [table, expected] of Object.entries(sourcePrimaryKeys) as [SourceTable, readonly string[]][]) {
    const actual = result.rows.find((row) => row.table_name === table)?.columns;
    if (actual?.join(',') !== expected.join(',')) {
      throw new UnrecoverableError(
        'CDC_SCHEMA_MISMATCH',
        `"${table}" primary key is (${actual?.join(', ') ?? 'missing'}), expected (${expected.join(', ')}); run the migrations`,
        { table },
      );
    }
  }
}
