import { sourcePrimaryKeys, tenantTopic, type ChangeEvent, type ChangeOp, type RowImage, type SourceTable } from '../schema/change-event';
import type { SourceChange, SourceTransaction } from './change-source';

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
 * Builds the records of one committed transaction, in statement order: each change becomes a
 * Debezium-style envelope on its tenancy's topic, and a delete is followed by a tombstone for its
 * key. `seq` numbers the transaction's events from 0, so `(commit_lsn, seq)` increases strictly
 * along every topic.
 */
export function transactionRecords(transaction: SourceTransaction, topicPrefix: string, nowMs: number = Date.now()): TopicRecord[] {
  const emitted = transaction.changes.flatMap(toEmitted);
  const perTable = new Map<SourceTable, number>();
  const commitLsn = transaction.commitLsn.toString();
  const records: TopicRecord[] = [];
  emitted.forEach(({ op, before, after, change }, seq) => {
    const row = after ?? before;
    if (!row) throw new Error(`change at LSN ${change.lsn} of ${change.table} has no row image`);
    const tenancyId = tenancyOf(row);
    const dataCollectionOrder = (perTable.get(change.table) ?? 0) + 1;
    perTable.set(change.table, dataCollectionOrder);
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
        commit_lsn: commitLsn,
        seq,
        ts_ms: transaction.commitTimeMs,
        tenancyId,
        snapshot: 'false',
      },
      transaction: { id: `${transaction.xid}:${commitLsn}`, total_order: seq + 1, data_collection_order: dataCollectionOrder },
    };
    const topic = tenantTopic(topicPrefix, tenancyId);
    const key = messageKey(change.table, row);
    records.push({ topic, tenancyId, key, value: JSON.stringify(event), event });
    if (op === 'd') records.push({ topic, tenancyId, key, value: null });
  });
  return records;
}
