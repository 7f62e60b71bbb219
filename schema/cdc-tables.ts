import { text, timestamp, pgTable } from 'drizzle-orm/pg-core';

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
