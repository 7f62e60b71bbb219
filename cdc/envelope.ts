import { sourcePrimaryKeys, tenantTopic, type ChangeEvent, type ChangeOp, type RowImage, type SourceTable } from '../schema/change-event';
import type { EventFormat } from '../schema/connect-event';
import type { SourceChange, SourceSegment, SourceTransactionInfo } from './change-source';
import { connectKey, connectValue } from './connect-envelope';

/** One Kafka record to publish; a null value is a tombstone (compaction then drops the key). */
export interface TopicRecord {
  topic: string;
  tenancyId: string;
  key: string;
  value: string | null;
  /** The event, for metrics and tests; absent on tombstones. */
  event?: ChangeEvent;
}

export function messageKey(table: SourceTable, row: RowImage): string {
  return [table, ...sourcePrimaryKeys[table].map((column) => String(row[column]))].join(':');
}

function tenancyOf(row: RowImage): string {
  const tenancyId = row.tenancyId;
  if (typeof tenancyId !== 'string') throw new Error('row image without a tenancyId');
  return tenancyId;
}

interface Emitted {
  op: ChangeOp;
  before: RowImage | null;
  after: RowImage | null;
  change: SourceChange;
}

/**
 * An update that changes the primary key moves the row to another key (and possibly another
 * tenancy's topic): like Debezium, it becomes a delete of the old key and a create of the new one,
 * so compaction of the old key ends in a tombstone.
 */
function toEmitted(change: SourceChange): Emitted[] {
  if (change.kind === 'insert') return [{ op: 'c', before: null, after: change.after, change }];
  if (change.kind === 'delete') return [{ op: 'd', before: change.before, after: null, change }];
  const { before, after } = change;
  if (before && after && messageKey(change.table, before) !== messageKey(change.table, after)) {
    return [
      { op: 'd', before, after: null, change },
      { op: 'c', before: null, after, change },
    ];
  }
  return [{ op: 'u', before, after, change }];
}

/**
 * Builds the records of one committed transaction, segment by segment, in statement order: each
 * change becomes a Debezium-style envelope on its tenancy's topic, and a delete is followed by a
 * tombstone for its key. `seq` numbers the transaction's events from 0 across its segments, so
 * `(commit_lsn, seq)` increases strictly along every topic.
 */
export class TransactionRecordBuilder {
  #seq = 0;
  readonly #perTable = new Map<SourceTable, number>();
  readonly #commitLsn: string;
  readonly transaction: SourceTransactionInfo;

  constructor(
    transaction: SourceTransactionInfo,
    private readonly topicPrefix: string,
    private readonly nowMs: () => number = Date.now,
    /** How keys and values are written (CDC_EVENT_FORMAT); the event itself is the same in both. */
    private readonly format: EventFormat = 'debezium-json',
  ) {
    // A copy of the identity only: the argument may be a whole segment, whose changes must not be kept.
    const { xid, commitLsn, commitTimeMs, database } = transaction;
    this.transaction = { xid, commitLsn, commitTimeMs, database };
    this.#commitLsn = commitLsn.toString();
  }

  /** The records of the next segment's changes. */
  records(changes: readonly SourceChange[]): TopicRecord[] {
    return this.#build(changes.flatMap(toEmitted), 'false');
  }

  /**
   * Snapshot rows as `r` events, positioned in this transaction (the one carrying the chunk's HIGH
   * watermark), so they come after everything the stream published before it.
   */
  snapshotRecords(table: SourceTable, rows: readonly RowImage[]): TopicRecord[] {
    const lsn = this.transaction.commitLsn;
    return this.#build(
      rows.map((row) => ({ op: 'r' as const, before: null, after: row, change: { table, kind: 'insert' as const, lsn, before: null, after: row } })),
      'true',
    );
  }

  #build(emitted: readonly Emitted[], snapshot: 'true' | 'false'): TopicRecord[] {
    const { transaction } = this;
    const nowMs = this.nowMs();
    const records: TopicRecord[] = [];
    for (const { op, before, after, change } of emitted) {
      const seq = this.#seq++;
      const row = after ?? before;
      if (!row) throw new Error(`change at LSN ${change.lsn} of ${change.table} has no row image`);
      const tenancyId = tenancyOf(row);
      const dataCollectionOrder = (this.#perTable.get(change.table) ?? 0) + 1;
      this.#perTable.set(change.table, dataCollectionOrder);
      const event: ChangeEvent = {
        before,
        after,
        op,
        ts_ms: nowMs,
        source: {
          connector: 'postgresql',
          db: transaction.database,
          schema: 'public',
          table: change.table,
          txId: transaction.xid,
          lsn: change.lsn.toString(),
          commit_lsn: this.#commitLsn,
          seq,
          ts_ms: transaction.commitTimeMs,
          tenancyId,
          snapshot,
        },
        transaction: { id: `${transaction.xid}:${this.#commitLsn}`, total_order: seq + 1, data_collection_order: dataCollectionOrder },
      };
      const topic = tenantTopic(this.topicPrefix, tenancyId);
      const schemas = this.format === 'debezium-json-schemas';
      const key = schemas ? connectKey(this.topicPrefix, change.table, row) : messageKey(change.table, row);
      const value = schemas ? connectValue(this.topicPrefix, event) : JSON.stringify(event);
      records.push({ topic, tenancyId, key, value, event });
      if (op === 'd') records.push({ topic, tenancyId, key, value: null });
    }
    return records;
  }
}

/** The records of a whole transaction in one segment. */
export function transactionRecords(transaction: SourceSegment, topicPrefix: string, nowMs: number = Date.now(), format: EventFormat = 'debezium-json'): TopicRecord[] {
  return new TransactionRecordBuilder(transaction, topicPrefix, () => nowMs, format).records(transaction.changes);
}
