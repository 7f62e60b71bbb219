import type pg from 'pg';
import type { SourceTable } from '../schema/change-event';

/** Column of each source table that external rows are keyed by (their `id`). */
const idColumn: Record<SourceTable, string> = { ProjectUser: '"projectUserId"', ContactChannel: 'id' };

/**
 * Which rows exist in the internal (source) database now: what a sweep compares an external
 * database with, to remove rows whose delete it can no longer learn from the topic.
 */
export class SourceRows {
  constructor(private readonly internal: pg.Pool) {}

  async existing(tenancyId: string, table: SourceTable, ids: readonly string[]): Promise<Set<string>> {
    if (ids.length === 0) return new Set();
    const column = idColumn[table];
    const result = await this.internal.query<{ id: string }>(
      `SELECT ${column}::text AS id FROM "${table}" WHERE "tenancyId" = $1 AND ${column} = ANY($2::uuid[])`,
      [tenancyId, ids],
    );
    return new Set(result.rows.map((row) => row.id));
  }
}
