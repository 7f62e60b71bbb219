import { sourcePrimaryKeys, type ChangeEvent, type RowImage, type SourceTable } from '../schema/change-event';
import { connectColumns, envelopeSchema, keySchema, type ConnectColumn } from './connect-schemas';

/**
 * The schema'd event format (CDC_EVENT_FORMAT=debezium-json-schemas): the same events as the
 * schemaless envelope, written as Kafka Connect's JsonConverter writes a struct with
 * `schemas.enable=true` — `{"schema": …, "payload": …}` — for key and value. Pure.
 */

/** Version written into `source.version`: which producer and contract wrote the event. */
export const connectSourceVersion = 'stack-sync-1';

/** JS Date's range, ms: where ±infinity timestamps land (int64 cannot say "infinity"). */
const maxEpochMs = 8_640_000_000_000_000;

function epochMs(value: unknown): number | null {
  if (value === null || value === undefined) return null;
  if (value === 'infinity') return maxEpochMs;
  if (value === '-infinity') return -maxEpochMs;
  const ms = typeof value === 'string' ? Date.parse(value) : Number.NaN;
  if (Number.isNaN(ms)) throw new Error(`not an ISO-8601 timestamp: ${String(value)}`);
  return ms;
}

function encodeValue(column: ConnectColumn, value: unknown): unknown {
  if (value === null || value === undefined) return null;
  switch (column.encoding) {
    case 'json':
      // io.debezium.data.Json is the JSON text in a string.
      return JSON.stringify(value);
    case 'timestamp':
      return epochMs(value);
    case 'boolean':
      return value === true || value === 't' || value === 'true';
    case 'text':
      return typeof value === 'string' ? value : JSON.stringify(value);
  }
}

/** Per topic prefix and table: the schemas, serialised once (they are most of each record's bytes). */
interface TableCodec {
  columns: ConnectColumn[];
  keyColumns: readonly string[];
  keyPrefix: string;
  valuePrefix: string;
}

const codecs = new Map<string, TableCodec>();

function codecFor(topicPrefix: string, table: SourceTable): TableCodec {
  const id = `${topicPrefix}\u0000${table}`;
  let codec = codecs.get(id);
  if (!codec) {
    codec = {
      columns: connectColumns(table),
      keyColumns: sourcePrimaryKeys[table],
      keyPrefix: `{"schema":${JSON.stringify(keySchema(topicPrefix, table))},"payload":`,
      valuePrefix: `{"schema":${JSON.stringify(envelopeSchema(topicPrefix, table))},"payload":`,
    };
    codecs.set(id, codec);
  }
  return codec;
}

function rowPayload(codec: TableCodec, row: RowImage | null): Record<string, unknown> | null {
  if (!row) return null;
  const payload: Record<string, unknown> = {};
  for (const column of codec.columns) payload[column.name] = encodeValue(column, row[column.name]);
  return payload;
}

/** The message key: a Connect struct of the primary key. Same row → same bytes, so compaction works on it. */
export function connectKey(topicPrefix: string, table: SourceTable, row: RowImage): string {
  const codec = codecFor(topicPrefix, table);
  const payload: Record<string, unknown> = {};
  for (const column of codec.keyColumns) payload[column] = row[column];
  return `${codec.keyPrefix}${JSON.stringify(payload)}}`;
}

/** The message value: the event as Debezium's envelope struct. */
export function connectValue(topicPrefix: string, event: ChangeEvent): string {
  const { source } = event;
  const codec = codecFor(topicPrefix, source.table);
  const payload = {
    before: rowPayload(codec, event.before),
    after: rowPayload(codec, event.after),
    source: {
      version: connectSourceVersion,
      connector: source.connector,
      name: topicPrefix,
      ts_ms: source.ts_ms,
      snapshot: source.snapshot,
      db: source.db,
      // Debezium's Postgres `sequence`: [last commit LSN, this LSN], as decimal strings.
      sequence: JSON.stringify([source.commit_lsn, source.lsn]),
      ts_us: source.ts_ms * 1_000,
      // Nanoseconds since the epoch pass 2^53: a JSON number would not carry them exactly.
      ts_ns: null,
      schema: source.schema,
      table: source.table,
      txId: source.txId,
      // int64 as Debezium has it; exact up to 2^53 bytes of WAL. commit_lsn stays an exact string.
      lsn: Number(source.lsn),
      xmin: null,
      commit_lsn: source.commit_lsn,
      seq: source.seq,
      tenancyId: source.tenancyId,
    },
    transaction: event.transaction,
    op: event.op,
    ts_ms: event.ts_ms,
    ts_us: event.ts_ms * 1_000,
    ts_ns: null,
  };
  return `${codec.valuePrefix}${JSON.stringify(payload)}}`;
}
