import type { RowImage, SourceTable } from '../schema/change-event';
import type { Lsn } from './lsn';

/** One row change of a published table, decoded, in statement order within its transaction. */
export interface SourceChange {
  table: SourceTable;
  kind: 'insert' | 'update' | 'delete';
  /** LSN of the change's WAL record. */
  lsn: Lsn;
  before: RowImage | null;
  after: RowImage | null;
}

/** A committed source transaction with every change of the published tables it made. */
export interface SourceTransaction {
  xid: number;
  /** LSN of the commit record. */
  commitLsn: Lsn;
  /** End of the commit record: the position to confirm once the transaction is durable downstream. */
  commitEndLsn: Lsn;
  /** Commit time, ms since the epoch. */
  commitTimeMs: number;
  /** Source database name, for the envelope's `source.db`. */
  database: string;
  changes: SourceChange[];
}

/**
 * What the consumer of a transaction answers: `onTransaction` resolves once it has taken the
 * transaction in (backpressure), and `durable` once the transaction is safe downstream.
 */
export interface TransactionReceipt {
  durable: Promise<void>;
}

/**
 * The seam between the WAL and the publisher. `stream` delivers committed transactions in commit
 * order and awaits `onTransaction` for each; a transaction counts as consumed (and the source may
 * release its WAL) only once its receipt's `durable` has resolved, and only after every earlier
 * one's has. It returns when `signal` aborts and rejects when the connection fails or a `durable`
 * rejects; the caller reconnects, and the source resumes after the last consumed transaction.
 */
export interface ChangeSource {
  stream(onTransaction: (transaction: SourceTransaction) => Promise<TransactionReceipt>, signal: AbortSignal): Promise<void>;
}
