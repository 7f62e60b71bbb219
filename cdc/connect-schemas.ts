import { getTableColumns } from 'drizzle-orm';
import type { PgColumn, PgTable } from 'drizzle-orm/pg-core';
import { sourcePrimaryKeys, type SourceTable } from '../schema/change-event';
import { debeziumLogicalTypes, type ConnectField, type ConnectSchema } from '../schema/connect-event';
import { contactChannel, projectUser } from '../schema/tables';

/**
 * The Kafka Connect schemas of the schema'd event format, named and typed as Debezium's Postgres
 * connector names and types them (https://debezium.io/documentation/reference/stable/connectors/postgresql.html#postgresql-data-types,
 * `time.precision.mode=adaptive`), so that Debezium's JDBC sink and SMTs read our topics as if
 * Debezium had written them. Column types come from the drizzle tables (schema/tables.ts), the
 * source of the migrations, so they cannot drift from the database.
 */

const sourceTables: Record<SourceTable, PgTable> = { ProjectUser: projectUser, ContactChannel: contactChannel };

/** How a column's value travels in the schema'd format. */
export type ColumnEncoding = 'text' | 'boolean' | 'json' | 'timestamp';

export interface ConnectColumn {
  name: string;
  encoding: ColumnEncoding;
  schema: ConnectSchema;
}

/**
 * The `__debezium.source.column.*` parameters are what Debezium adds with
 * `column.propagate.source.type`; its JDBC sink reads them to create jsonb (not json) and
 * timestamp(3) columns when it creates a table. Only those two carry them: every field's schema is
 * in every record (twice: before and after), and uuid, boolean and text map right without.
 */
function sourceType(type: string, length?: number, scale?: number): Record<string, string> {
  return {
    '__debezium.source.column.type': type,
    ...(length === undefined ? {} : { '__debezium.source.column.length': String(length) }),
    ...(scale === undefined ? {} : { '__debezium.source.column.scale': String(scale) }),
  };
}

function columnOf(column: PgColumn): ConnectColumn {
  const optional = !column.notNull;
  const name = column.name;
  switch (column.columnType) {
    case 'PgUUID':
      return { name, encoding: 'text', schema: { type: 'string', optional, name: debeziumLogicalTypes.uuid, version: 1 } };
    case 'PgBoolean':
      return { name, encoding: 'boolean', schema: { type: 'boolean', optional } };
    case 'PgJsonb':
      return { name, encoding: 'json', schema: { type: 'string', optional, name: debeziumLogicalTypes.json, version: 1, parameters: sourceType('JSONB') } };
    case 'PgTimestamp': {
      const precision = 'precision' in column && typeof column.precision === 'number' ? column.precision : 6;
      // Debezium's adaptive mode: millisecond precision or less travels as io.debezium.time.Timestamp.
      if (precision > 3) throw new Error(`column ${name}: timestamp(${precision}) has no mapping in the schema'd format`);
      return { name, encoding: 'timestamp', schema: { type: 'int64', optional, name: debeziumLogicalTypes.timestamp, version: 1, parameters: sourceType('TIMESTAMP', 29, precision) } };
    }
    case 'PgEnumColumn': {
      const allowed = 'enumValues' in column && Array.isArray(column.enumValues) ? column.enumValues.join(',') : '';
      return { name, encoding: 'text', schema: { type: 'string', optional, name: debeziumLogicalTypes.enum, version: 1, parameters: { allowed } } };
    }
    case 'PgText':
      return { name, encoding: 'text', schema: { type: 'string', optional } };
    default:
      throw new Error(`column ${name}: ${column.columnType} has no mapping in the schema'd format`);
  }
}

/** The published columns of a source table, in table order. */
export function connectColumns(table: SourceTable): ConnectColumn[] {
  return Object.values(getTableColumns(sourceTables[table])).map(columnOf);
}

function field(name: string, schema: ConnectSchema): ConnectField {
  return { ...schema, field: name };
}

/** `io.debezium.connector.postgresql.Source` with Debezium's fields, then ours (commit_lsn, seq, tenancyId). */
export const sourceSchema: ConnectSchema = {
  type: 'struct',
  optional: false,
  name: 'io.debezium.connector.postgresql.Source',
  fields: [
    field('version', { type: 'string', optional: false }),
    field('connector', { type: 'string', optional: false }),
    field('name', { type: 'string', optional: false }),
    field('ts_ms', { type: 'int64', optional: false }),
    field('snapshot', {
      type: 'string',
      optional: true,
      name: debeziumLogicalTypes.enum,
      version: 1,
      parameters: { allowed: 'true,first,first_in_data_collection,last_in_data_collection,last,false,incremental' },
    }),
    field('db', { type: 'string', optional: false }),
    field('sequence', { type: 'string', optional: true }),
    field('ts_us', { type: 'int64', optional: true }),
    field('ts_ns', { type: 'int64', optional: true }),
    field('schema', { type: 'string', optional: false }),
    field('table', { type: 'string', optional: false }),
    field('txId', { type: 'int64', optional: true }),
    field('lsn', { type: 'int64', optional: true }),
    field('xmin', { type: 'int64', optional: true }),
    field('commit_lsn', { type: 'string', optional: false }),
    field('seq', { type: 'int32', optional: false }),
    field('tenancyId', { type: 'string', optional: false }),
  ],
};

/** Debezium's `event.block` (transaction metadata). */
const transactionSchema: ConnectSchema = {
  type: 'struct',
  optional: true,
  name: 'event.block',
  version: 1,
  fields: [field('id', { type: 'string', optional: false }), field('total_order', { type: 'int64', optional: false }), field('data_collection_order', { type: 'int64', optional: false })],
};

/** `<prefix>.public.<table>`: Debezium's `<topic.prefix>.<schema>.<table>` schema name stem. */
function schemaStem(topicPrefix: string, table: SourceTable): string {
  return `${topicPrefix}.public.${table}`;
}

export function rowSchema(topicPrefix: string, table: SourceTable): ConnectSchema {
  return { type: 'struct', optional: true, name: `${schemaStem(topicPrefix, table)}.Value`, fields: connectColumns(table).map((column) => field(column.name, column.schema)) };
}

/** The key: a struct of the primary key columns (Debezium's `<prefix>.public.<table>.Key`). */
export function keySchema(topicPrefix: string, table: SourceTable): ConnectSchema {
  const columns = new Map(connectColumns(table).map((column) => [column.name, column]));
  return {
    type: 'struct',
    optional: false,
    name: `${schemaStem(topicPrefix, table)}.Key`,
    fields: sourcePrimaryKeys[table].map((name) => {
      const column = columns.get(name);
      if (!column) throw new Error(`primary key column ${table}.${name} is not a column`);
      return field(name, { ...column.schema, optional: false });
    }),
  };
}

/** The value: Debezium's change event envelope (`<prefix>.public.<table>.Envelope`, version 2 as Debezium 2+). */
export function envelopeSchema(topicPrefix: string, table: SourceTable): ConnectSchema {
  const row = rowSchema(topicPrefix, table);
  return {
    type: 'struct',
    optional: false,
    name: `${schemaStem(topicPrefix, table)}.Envelope`,
    version: 2,
    fields: [
      field('before', row),
      field('after', row),
      field('source', sourceSchema),
      field('transaction', transactionSchema),
      field('op', { type: 'string', optional: false }),
      field('ts_ms', { type: 'int64', optional: true }),
      field('ts_us', { type: 'int64', optional: true }),
      field('ts_ns', { type: 'int64', optional: true }),
    ],
  };
}
