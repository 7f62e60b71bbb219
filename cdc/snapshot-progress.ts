import type pg from 'pg';
import { sourcePrimaryKeys, type SourceTable } from '../schema/change-event';

/** Tables in the order a snapshot reads them (cdc/snapshotter.ts). */
const snapshotTables: readonly SourceTable[] = ['ProjectUser', 'ContactChannel'];

export interface SnapshotProgress {
  id: string;
  tenancyId: string | null;
  state: 'pending' | 'done';
  sourceTable: string;
  /** Source rows published so far, and rows of the snapshot's tenancy (or all) now. */
  rowsDone: number;
  rowsTotal: number;
  requestedAt: Date;
  doneAt: Date | null;
}

function quote(name: string): string {
  return `"${name.replaceAll('"', '""')}"`;
}

/**
 * How far a snapshot request got, in rows: the tables it finished, plus the rows of the table it
 * reads now up to its last published key (the snapshotter reads in primary-key order, so "at or
 * before the last key" is exactly what it published). Counted when asked; the total is the rows
 * now, so it may move while the tenancy is written.
 */
export async function snapshotProgress(db: pg.Pool, id: string): Promise<SnapshotProgress | undefined> {
  const request = await db.query<{ tenancy_id: string | null; state: 'pending' | 'done'; source_table: string; last_key: string[] | null; requested_at: Date; done_at: Date | null }>(
    `SELECT "tenancyId"::text AS tenancy_id, state, "sourceTable" AS source_table, "lastKey" AS last_key, "requestedAt" AS requested_at, "doneAt" AS done_at FROM "CdcSnapshot" WHERE id = $1`,
    [id],
  );
  const row = request.rows[0];
  if (!row) return undefined;
  let rowsDone = 0;
  let rowsTotal = 0;
  const current = snapshotTables.indexOf(row.source_table as SourceTable);
  for (const [index, table] of snapshotTables.entries()) {
    const values: unknown[] = [];
    const where: string[] = [];
    if (row.tenancy_id !== null) {
      values.push(row.tenancy_id);
      where.push(`"tenancyId" = $${values.length}`);
    }
    const total = Number((await db.query<{ n: string }>(`SELECT count(*) AS n FROM ${quote(table)}${where.length > 0 ? ` WHERE ${where.join(' AND ')}` : ''}`, values)).rows[0]!.n);
    rowsTotal += total;
    if (row.state === 'done' || index < current) rowsDone += total;
    else if (index === current && row.last_key !== null) {
      const key = sourcePrimaryKeys[table];
      const placeholders = row.last_key.map((value) => {
        values.push(value);
        return `$${values.length}`;
      });
      where.push(`(${key.map(quote).join(', ')}) <= (${placeholders.join(', ')})`);
      rowsDone += Number((await db.query<{ n: string }>(`SELECT count(*) AS n FROM ${quote(table)} WHERE ${where.join(' AND ')}`, values)).rows[0]!.n);
    }
  }
  return { id, tenancyId: row.tenancy_id, state: row.state, sourceTable: row.source_table, rowsDone, rowsTotal, requestedAt: row.requested_at, doneAt: row.done_at };
}
