import { SyncError } from '../infra/runtime/errors';
import type { OffsetEvent } from './batch-plan';

/** Stored progress went backwards: a person asked for a rebuild from that offset. */
export class ProgressRewoundError extends SyncError {
  constructor(target: string, stored: bigint, resumedFrom: bigint) {
    super('SINK_PROGRESS_REWOUND', `external database ${target}: progress was reset to ${stored} (was ${resumedFrom}); resuming from there`, { target });
  }
}

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
  /**
   * Applies the events (offset order) that are newer than the stored progress. `resumedFrom` is
   * the progress this consumer session last saw stored: stored progress below it means someone
   * reset it (to rebuild the tables), and the call fails with SINK_PROGRESS_REWOUND so the session
   * restarts from there.
   */
  apply(events: readonly OffsetEvent[], resumedFrom: bigint): Promise<ApplyResult>;
  close(): Promise<void>;
}
