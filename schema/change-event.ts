import { z } from 'zod';

/**
 * The change event every tenant topic carries: a Debezium-compatible JSON envelope (schemas
 * disabled). A versioned contract for outside consumers: additive changes only.
 */

/** A row image with the source's column names: timestamps as ISO-8601, jsonb as JSON, bigints as strings. */
export const rowImageSchema = z.record(z.string(), z.unknown());
export type RowImage = z.infer<typeof rowImageSchema>;

/** c = insert, u = update, d = delete, r = snapshot read. */
export const changeOpSchema = z.enum(['c', 'u', 'd', 'r']);
export type ChangeOp = z.infer<typeof changeOpSchema>;

/** An LSN as the decimal string of its 64-bit value, so positions compare as BigInt. */
const lsnString = z.string().regex(/^\d+$/, 'decimal 64-bit LSN');

export const changeSourceSchema = z.object({
  connector: z.literal('postgresql'),
  db: z.string(),
  schema: z.string(),
  table: z.enum(['ProjectUser', 'ContactChannel']),
  /** Postgres transaction id (xid). */
  txId: z.number().int().nonnegative(),
  /** LSN of this change's WAL record. */
  lsn: lsnString,
  /** LSN of the transaction's commit record; with `seq`, a strictly increasing position per tenancy. */
  commit_lsn: lsnString,
  /** Index of the change within its source transaction, from 0. */
  seq: z.number().int().nonnegative(),
  /** Source commit time, ms since the epoch. */
  ts_ms: z.number().int(),
  tenancyId: z.uuid(),
  /** Debezium's values: 'false' for streamed changes, 'true' / 'last' for snapshot reads. */
  snapshot: z.enum(['true', 'last', 'false', 'incremental']),
});

export const changeEventSchema = z.object({
  before: rowImageSchema.nullable(),
  after: rowImageSchema.nullable(),
  op: changeOpSchema,
  /** When the reader produced the event, ms since the epoch. */
  ts_ms: z.number().int(),
  source: changeSourceSchema,
  transaction: z.object({
    /** `<txId>:<commit_lsn>`. */
    id: z.string(),
    /** Position of the event among the transaction's events, from 1. */
    total_order: z.number().int().positive(),
    /** Position among the transaction's events of the same table, from 1. */
    data_collection_order: z.number().int().positive(),
  }),
});

export type ChangeEvent = z.infer<typeof changeEventSchema>;
export type SourceTable = ChangeEvent['source']['table'];

/** Primary key columns per source table, in key order: the Kafka message key joins their values with ':'. */
export const sourcePrimaryKeys: Record<SourceTable, readonly string[]> = {
  ProjectUser: ['tenancyId', 'projectUserId'],
  ContactChannel: ['tenancyId', 'projectUserId', 'id'],
};

export function tenantTopic(prefix: string, tenancyId: string): string {
  return `${prefix}.${tenancyId}`;
}
