import { SyncError } from '../infra/runtime/errors';
import type { SourceTable } from '../schema/change-event';
import type { OffsetEvent } from './batch-plan';

/** Stored progress went backwards: a person (or an automatic rebuild) reset it to rebuild from there. */
export class ProgressRewoundError extends SyncError {
  constructor(target: string, stored: bigint, resumedFrom: bigint) {
    super('SINK_PROGRESS_REWOUND', `external database ${target}: progress was reset to ${stored} (was ${resumedFrom}); resuming from there`, { target });
  }
}

/**
 * A batch that starts after the database's next offset: applying it would skip the records in
 * between for good. Refused where rows are written, whatever the layers above believed.
 */
export class OffsetGapError extends SyncError {
  constructor(target: string, stored: bigint, fetchedFrom: bigint) {
    super('SINK_OFFSET_GAP', `external database ${target}: a batch read from offset ${fetchedFrom} does not follow the stored progress ${stored}; refused`, {
      target,
      offset: fetchedFrom.toString(),
    });
  }
}

/** The database's progress rows were written from another topic: another tenancy's database. */
export class ForeignProgressError extends SyncError {
  constructor(target: string) {
    super(
      'SINK_DATABASE_OF_ANOTHER_SOURCE',
      `external database ${target}: it is already synced from another tenancy (its _stack_sync_metadata names another source); nothing is written to it`,
      { target },
    );
  }
}

/** Which offsets a batch covers; see SyncTarget.apply. */
export interface ApplyRange {
  /** Offset the batch was fetched from: every record from here to `through` is in it or is no event. */
  fetchedFrom: bigint;
  /** Last offset the batch covers: its last record, which may be a tombstone or a transaction marker. */
  through: bigint;
  /** The covered offset this consumer session last saw stored (-1 before anything). */
  resumedFrom: bigint;
}

/** A database's stored progress. */
export interface StoredProgress {
  /** `last_synced_sequence_id`: offset of the last event applied (-1 before anything). */
  appliedOffset: bigint;
  /** Last offset covered: the applied event and the records after it that are no events (markers, tombstones). */
  coveredThrough: bigint;
}

/** What a prepared database says about itself beyond its position. */
export interface PreparedProgress extends StoredProgress {
  /** A sweep was required and has not finished. */
  sweepPending: boolean;
  /** Newest full-tenancy snapshot the database was swept after (-1: none). */
  sweptSnapshotId: bigint;
}

export interface ApplyResult extends StoredProgress {
  /** Events of the batch that were new to this database. */
  applied: number;
}

/**
 * One external database of one tenancy. Exactly-once lives here: progress is stored in the
 * database itself, in the same transaction as the rows, and events at or below it are skipped.
 * Besides the last event applied, progress records the last offset covered (the records after it
 * that are no events — tombstones, transaction markers — included), so a batch must start at or
 * before covered + 1.
 */
export interface SyncTarget {
  /**
   * Creates the mapped tables and progress rows on first use, claiming the database for this
   * source; returns its stored progress. Fails with SINK_DATABASE_OF_ANOTHER_SOURCE
   * when another tenancy's topic already wrote it.
   */
  prepare(): Promise<PreparedProgress>;
  /**
   * Applies the events (offset order) that are newer than the stored progress and records
   * `range.through` as covered. Fails with SINK_PROGRESS_REWOUND when the covered offset is below
   * `range.resumedFrom` (someone reset it), with SINK_OFFSET_GAP when the batch starts after
   * covered + 1, and with SINK_DATABASE_OF_ANOTHER_SOURCE when the progress rows belong
   * to another topic — writing nothing in each case.
   */
  apply(events: readonly OffsetEvent[], range: ApplyRange): Promise<ApplyResult>;
  /**
   * Records that a sweep is required (durably); `skipTo` moves the covered offset past records the
   * topic lost; `rewindTo` moves the whole position back (a topic that starts over below it).
   */
  requireSweep(skipTo?: bigint, rewindTo?: bigint): Promise<void>;
  /** Removes rows whose source row is gone; records the sweep as done, after snapshot `snapshotId`. */
  sweep(existing: (table: SourceTable, ids: readonly string[]) => Promise<Set<string>>, snapshotId: bigint): Promise<number>;
  /**
   * Empties the mapped tables and resets the stored progress to nothing applied, in one
   * transaction: the database is then refilled from the topic like a new one (an operator's
   * rebuild; whatever was done to its rows behind the sink's back is gone with them).
   */
  reset(): Promise<void>;
  /** Records, without sweeping, that nothing before snapshot `snapshotId` needs a sweep (a database that started empty). */
  markSwept(snapshotId: bigint): Promise<void>;
  /**
   * The mapped users table as it stands in the database now, whoever wrote it (the status API's
   * `users_table`); undefined when it was not counted now (no idle connection to count on).
   */
  measureUsersTable(): Promise<UsersTableFigures | undefined>;
  close(): Promise<void>;
}

/** What the users table of an external database holds, as last counted there. */
export interface UsersTableFigures {
  exists: boolean;
  totalRows: number;
  /** The exact count took too long, so this is the planner's estimate. */
  estimated: boolean;
}
