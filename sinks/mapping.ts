import type { ChangeEvent, SourceTable } from '../schema/change-event';

/** A column value bound as a query parameter; values of a mapping's jsonColumns may be any JSON. */
export type CellValue = unknown;

/** What one change event does to one external table: put a whole row, or remove one by id. */
export type RowOperation =
  | { kind: 'upsert'; table: string; id: string; row: Record<string, CellValue> }
  | { kind: 'delete'; table: string; id: string };

/**
 * A mapping from source events to one external table. `map` is pure: it sees one event and says
 * what it does to the table.
 */
export interface Mapping {
  /** Row of `_stack_sync_metadata` that records this mapping's progress. */
  name: string;
  /** The source table whose events this mapping turns into rows. */
  sourceTable: SourceTable;
  table: string;
  /** Column names in insert order; the first is the primary key `id`. */
  columns: readonly string[];
  /** Columns of type jsonb: their values are bound as JSON text, whatever JSON value they hold. */
  jsonColumns: readonly string[];
  /** CREATE TABLE IF NOT EXISTS … for first use. */
  ddl: string;
  map(event: ChangeEvent): RowOperation[];
}

export function sourceRow(event: ChangeEvent): Record<string, unknown> {
  const row = event.after ?? event.before;
  if (!row) throw new Error(`event ${event.transaction.id}#${event.source.seq} has no row image`);
  return row;
}

export function requireString(row: Record<string, unknown>, column: string): string {
  const value = row[column];
  if (typeof value !== 'string') throw new Error(`source column ${column} is ${value === null ? 'null' : typeof value}, expected text`);
  return value;
}

/** The external metadata columns are NOT NULL DEFAULT '{}': a null source value becomes `{}`. */
export function jsonOrEmptyObject(value: unknown): unknown {
  return value === null || value === undefined ? {} : value;
}
