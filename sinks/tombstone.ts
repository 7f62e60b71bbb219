import { sourcePrimaryKeys, type ChangeEvent, type SourceTable } from '../schema/change-event';
import { keyFromConnect } from '../schema/connect-event';

const sourceTables = Object.keys(sourcePrimaryKeys) as SourceTable[];

/**
 * The delete a tombstone stands for. Compaction removes a delete event as soon as the tombstone
 * after it (same key) is in a cleaned segment, so a database reading that stretch later sees only
 * the tombstone: it must act on it. Pure: the row is rebuilt from the message key
 * (`<table>:<primary key values>`, or the schema'd format's key struct; see cdc/envelope.ts); `context` lends its source position
 * when the delete event itself is still there (same transaction).
 */
export function tombstoneDelete(key: string, context: ChangeEvent | undefined): ChangeEvent | undefined {
  const identified = key.startsWith('{') ? keyFromConnect(key) : keyOfText(key);
  if (!identified) return undefined;
  const { table, row: before } = identified;
  const tenancyId = before.tenancyId!;
  return {
    before,
    after: null,
    op: 'd',
    ts_ms: context?.ts_ms ?? 0,
    source: context
      ? { ...context.source, table }
      : { connector: 'postgresql', db: '', schema: 'public', table, txId: 0, lsn: '0', commit_lsn: '0', seq: 0, ts_ms: 0, tenancyId, snapshot: 'false' },
    transaction: context?.transaction ?? { id: 'tombstone', total_order: 1, data_collection_order: 1 },
  };
}

/** `<table>:<primary key values joined by ':'>`, the schemaless format's key. */
function keyOfText(key: string): { table: SourceTable; row: Record<string, string> } | undefined {
  const parts = key.split(':');
  const table = sourceTables.find((candidate) => candidate === parts[0]);
  if (!table) return undefined;
  const columns = sourcePrimaryKeys[table];
  const values = parts.slice(1);
  if (values.length !== columns.length || values.some((value) => value.length === 0)) return undefined;
  return { table, row: Object.fromEntries(columns.map((column, index) => [column, values[index]!])) };
}
