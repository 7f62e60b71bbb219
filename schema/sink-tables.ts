import { bigint, jsonb, pgTable, primaryKey, text, timestamp, uuid } from 'drizzle-orm/pg-core';

/**
 * What each sink process reports about the external databases it serves (the ones whose tenant
 * topics Kafka assigned to it), so that the status API is honest across processes: one row per
 * database, written by whichever process serves it now; a row not refreshed for a while means no
 * process reports that database.
 */
export const sinkDatabaseStatus = pgTable(
  'SinkDatabaseStatus',
  {
    tenancyId: uuid('tenancyId').notNull(),
    databaseId: text('databaseId').notNull(),
    /** starting | running | paused | error */
    state: text('state').notNull(),
    /** last_synced_sequence_id of the database: the Kafka offset of the last event applied (-1: none). */
    appliedOffset: bigint('appliedOffset', { mode: 'bigint' }).notNull(),
    /** `{code, message, at, mapping?, offset?}` of the last failure while in state error. */
    lastError: jsonb('lastError'),
    /**
     * Source commit time of the oldest change in the topic this database has not applied, in ms since the epoch (null:
     * caught up, or not known yet); the status API's lag is now minus this, so it grows while the
     * database is stuck or paused even when nothing new arrives.
     */
    oldestPendingAtMillis: bigint('oldestPendingAtMillis', { mode: 'number' }),
    /** Change events in the topic after the last one applied (null: not known yet). */
    pendingEvents: bigint('pendingEvents', { mode: 'number' }),
    /** `{exists, totalRows, estimated, measuredAtMillis}`: the users table as last counted in the database (null: not yet). */
    usersTable: jsonb('usersTable'),
    /** The tenant topic's end offset as the sink last fetched it (null: nothing fetched yet). */
    topicHighOffset: bigint('topicHighOffset', { mode: 'bigint' }),
    /** `<host>:<pid>:<random>` of the sink process that wrote the row. */
    reportedBy: text('reportedBy').notNull(),
    reportedAt: timestamp('reportedAt', { precision: 3, mode: 'date' }).notNull().defaultNow(),
  },
  (table) => [primaryKey({ name: 'SinkDatabaseStatus_pkey', columns: [table.tenancyId, table.databaseId] })],
);
