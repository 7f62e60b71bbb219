import type { OffsetEvent } from './batch-plan';

export interface ApplyResult {
  /** Events of the batch that were new to this database. */
  applied: number;
  /** Offset recorded as applied after the batch (-1 before anything). */
  appliedOffset: bigint;
}

/**
 * One external database of one tenancy. Exactly-once lives here: progress is stored in the
 * database itself, in the same transaction as the rows, and events at or below it are skipped.
 */
export interface SyncTarget {
  /** Creates the mapped tables and progress rows on first use; returns the offset last applied, or -1. */
  prepare(): Promise<bigint>;
  /** Applies the events (offset order) that are newer than the stored progress. */
  apply(events: readonly OffsetEvent[]): Promise<ApplyResult>;
  close(): Promise<void>;
}
