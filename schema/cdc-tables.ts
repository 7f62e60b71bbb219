import { bigserial, jsonb, pgTable, text, timestamp, uuid } from 'drizzle-orm/pg-core';

/**
 * What the cdc reader must remember outside its slot: that the slot existed. A slot that is gone
 * (dropped, or invalidated when max_slot_wal_keep_size was exceeded) while this row says it was
 * created means changes were lost in between; the reader refuses to quietly start over from "now".
 */
export const cdcSlot = pgTable('CdcSlot', {
  slotName: text('slotName').primaryKey(),
  /** LSN at which the slot was created, as Postgres prints it. */
  createdAtLsn: text('createdAtLsn').notNull(),
  createdAt: timestamp('createdAt', { precision: 3, mode: 'date' }).notNull().defaultNow(),
});

/**
 * Snapshot requests of the reader on this slot: rows are read in chunks by primary key and
 * published as `r` events between watermarks (cdc/snapshotter.ts). Progress (the table being read
 * and the last key published) is saved after each chunk is committed in Kafka, so a restarted
 * reader resumes where it stopped.
 */
export const cdcSnapshot = pgTable('CdcSnapshot', {
  id: bigserial('id', { mode: 'number' }).primaryKey(),
  slotName: text('slotName').notNull(),
  /** Null: every tenancy (the snapshot a new slot starts with). */
  tenancyId: uuid('tenancyId'),
  /** The source table being read; tables are read one after another. */
  sourceTable: text('sourceTable').notNull().default('ProjectUser'),
  /** Primary key values of the last row published from `sourceTable`; null: from its start. */
  lastKey: jsonb('lastKey').$type<string[]>(),
  state: text('state', { enum: ['pending', 'done'] }).notNull().default('pending'),
  requestedAt: timestamp('requestedAt', { precision: 3, mode: 'date' }).notNull().defaultNow(),
  doneAt: timestamp('doneAt', { precision: 3, mode: 'date' }),
});
