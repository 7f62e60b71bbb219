import type { RowImage, SourceTable } from '../schema/change-event';
import type { Lsn } from './lsn';
import type { SnapshotMark } from './snapshotter';

/** One row change of a published table, decoded, in statement order within its transaction. */
export interface SourceChange {
  table: SourceTable;
  kind: 'insert' | 'update' | 'delete';
  /** LSN of the change's WAL record. */
  lsn: Lsn;
  before: RowImage | null;
  after: RowImage | null;
}

/** What identifies a committed source transaction; known from its BEGIN on. */
export interface SourceTransactionInfo {
  xid: number;
  /** LSN of the commit record: unique per transaction and increasing in commit order. */
  commitLsn: Lsn;
  /** Commit time, ms since the epoch. */
  commitTimeMs: number;
  /** Source database name, for the envelope's `source.db`. */
  database: string;
}

/**
 * A run of one committed transaction's changes to the published tables, in statement order. A
 * transaction arrives as one or more segments, so a transaction of a million rows never has to be
 * in memory at once; its last segment carries `commitEndLsn`.
 */
export interface SourceSegment extends SourceTransactionInfo {
  changes: SourceChange[];
  /** Snapshot watermarks written in this transaction (cdc/snapshotter.ts), in order. */
  marks?: SnapshotMark[];
  /** Only on a transaction's last segment: the end of its commit record, the position to confirm once it is durable downstream. */
  commitEndLsn?: Lsn;
}

/** A whole transaction in one segment. */
export type SourceTransaction = SourceSegment & { commitEndLsn: Lsn };

/**
 * What the consumer of a segment answers: `onSegment` returns it once it has taken the segment in
 * (a promise of it when it must wait for room: backpressure), and `durable` resolves once the
 * segment's transaction is safe downstream (meaningful on a transaction's last segment).
 */
export interface TransactionReceipt {
  durable: Promise<void>;
}

/**
 * The seam between the WAL and the publisher. `stream` delivers committed transactions, segment by
 * segment, in commit order, and delivers the next only once `onSegment` took the previous one; a
 * transaction counts as consumed (and the source may release its WAL) only once its last
 * segment's receipt is durable, and only after every earlier transaction's. It returns when `signal` aborts and rejects when the
 * connection fails or a `durable` rejects; the caller reconnects, and the source resumes after the
 * last consumed transaction (from its first segment).
 */
export interface ChangeSource {
  /** `onStreaming` runs once the source holds its slot and streams (a standby never gets there). */
  stream(onSegment: (segment: SourceSegment) => TransactionReceipt | Promise<TransactionReceipt>, signal: AbortSignal, onStreaming?: () => void): Promise<void>;
}
