import { z } from 'zod';
import { sourcePrimaryKeys, type SourceTable } from './change-event';

/**
 * How a deployment writes its change events (CDC_EVENT_FORMAT), fixed per topic prefix:
 * - `debezium-json`: the schemaless envelope of schema/change-event.ts (the default, versioned);
 * - `debezium-json-schemas`: the same envelope in Kafka Connect's JsonConverter form
 *   (`{schema, payload}`, `schemas.enable=true`) with Debezium's schema names and logical types,
 *   for Kafka Connect sinks and SMTs (Debezium's JDBC sink, ExtractNewRecordState), which need
 *   Connect structs with schemas. Keys become Connect structs of the primary key too.
 */
export const eventFormatSchema = z.enum(['debezium-json', 'debezium-json-schemas']);
export type EventFormat = z.infer<typeof eventFormatSchema>;

/** Debezium's logical type names (io.debezium.data / io.debezium.time) used for our column types. */
export const debeziumLogicalTypes = {
  uuid: 'io.debezium.data.Uuid',
  json: 'io.debezium.data.Json',
  enum: 'io.debezium.data.Enum',
  /** int64 ms since the epoch: what Debezium emits for timestamp(0..3) with time.precision.mode=adaptive. */
  timestamp: 'io.debezium.time.Timestamp',
  /** int64 µs since the epoch (timestamp(4..6)); read, never written by us. */
  microTimestamp: 'io.debezium.time.MicroTimestamp',
} as const;

/** A Kafka Connect schema as JsonConverter writes it (`org.apache.kafka.connect.json.JsonConverter#asJsonSchema`). */
export interface ConnectSchema {
  type: 'struct' | 'string' | 'boolean' | 'int8' | 'int16' | 'int32' | 'int64' | 'float32' | 'float64' | 'bytes' | 'array' | 'map';
  optional: boolean;
  name?: string;
  version?: number;
  parameters?: Record<string, string>;
  /** Only on structs; `field` is the field's name. */
  fields?: ConnectField[];
}
export type ConnectField = ConnectSchema & { field: string };

export const connectSchemaSchema: z.ZodType<ConnectSchema> = z.lazy(() =>
  z.object({
    type: z.enum(['struct', 'string', 'boolean', 'int8', 'int16', 'int32', 'int64', 'float32', 'float64', 'bytes', 'array', 'map']),
    optional: z.boolean(),
    name: z.string().optional(),
    version: z.number().int().optional(),
    parameters: z.record(z.string(), z.string()).optional(),
    fields: z.array(z.lazy(() => connectSchemaSchema.and(z.object({ field: z.string() })))).optional(),
  }),
);

/** A record key or value in JsonConverter form. */
export const connectRecordSchema = z.object({ schema: connectSchemaSchema, payload: z.unknown() });

/** Whether a decoded JSON value is in JsonConverter form (`{schema, payload}`) rather than the schemaless envelope. */
export function isConnectRecord(value: unknown): value is { schema: unknown; payload: unknown } {
  return typeof value === 'object' && value !== null && 'schema' in value && 'payload' in value;
}

/** Timestamp logical types back to the schemaless envelope's ISO-8601 UTC strings. */
function isoFromEpoch(value: unknown, unitsPerMs: number): unknown {
  if (typeof value !== 'number') return value;
  const date = new Date(value / unitsPerMs);
  return Number.isNaN(date.getTime()) ? value : date.toISOString();
}

/** One row struct of a schema'd event back into a schemaless row image (jsonb as JSON, timestamps as ISO strings). */
function rowImageFromConnect(schema: ConnectSchema | undefined, payload: unknown): unknown {
  if (payload === null || typeof payload !== 'object' || !schema?.fields) return payload;
  const row: Record<string, unknown> = {};
  const values = payload as Record<string, unknown>;
  for (const field of schema.fields) {
    const value = values[field.field];
    if (value === undefined || value === null) {
      row[field.field] = value ?? null;
      continue;
    }
    switch (field.name) {
      case debeziumLogicalTypes.json:
        row[field.field] = typeof value === 'string' ? (JSON.parse(value) as unknown) : value;
        break;
      case debeziumLogicalTypes.timestamp:
        row[field.field] = isoFromEpoch(value, 1);
        break;
      case debeziumLogicalTypes.microTimestamp:
        row[field.field] = isoFromEpoch(value, 1_000);
        break;
      default:
        row[field.field] = value;
    }
  }
  return row;
}

/**
 * A schema'd change event (JsonConverter form) as the schemaless envelope, for our own sinks, which
 * read both formats. The result still goes through `changeEventSchema`; a malformed input comes
 * out as something that schema rejects, never as a throw.
 */
export function changeEventFromConnect(record: unknown): unknown {
  const parsed = connectRecordSchema.safeParse(record);
  if (!parsed.success) return undefined;
  const { schema, payload } = parsed.data;
  if (typeof payload !== 'object' || payload === null) return undefined;
  const envelope = payload as Record<string, unknown>;
  const fieldSchema = (name: string) => schema.fields?.find((field) => field.field === name);
  const source = envelope.source as Record<string, unknown> | undefined;
  try {
    return {
      ...envelope,
      before: rowImageFromConnect(fieldSchema('before'), envelope.before),
      after: rowImageFromConnect(fieldSchema('after'), envelope.after),
      // Debezium's source block has lsn as int64; the schemaless contract has decimal strings.
      source: source && { ...source, lsn: typeof source.lsn === 'number' ? String(source.lsn) : source.lsn },
    };
  } catch {
    // A Json field that is not JSON (a record no reader of ours wrote): an invalid event, which
    // the lane reports, rather than a throw that would escape the lane and end the process.
    return undefined;
  }
}

/**
 * The table and primary key of a schema'd message key (`{schema: {name: '<prefix>.public.<table>.Key'},
 * payload: {<key columns>}}`), or undefined if it is not one of ours.
 */
export function keyFromConnect(key: string): { table: SourceTable; row: Record<string, string> } | undefined {
  let value: unknown;
  try {
    value = JSON.parse(key);
  } catch {
    return undefined;
  }
  const parsed = connectRecordSchema.safeParse(value);
  if (!parsed.success) return undefined;
  const table = (Object.keys(sourcePrimaryKeys) as SourceTable[]).find((candidate) => parsed.data.schema.name?.endsWith(`.${candidate}.Key`));
  const payload = parsed.data.payload;
  if (!table || typeof payload !== 'object' || payload === null) return undefined;
  const row: Record<string, string> = {};
  for (const column of sourcePrimaryKeys[table]) {
    const part = (payload as Record<string, unknown>)[column];
    if (typeof part !== 'string' || part.length === 0) return undefined;
    row[column] = part;
  }
  return { table, row };
}
