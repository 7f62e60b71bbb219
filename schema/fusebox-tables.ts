import { bigint, boolean, index, pgTable, primaryKey, text, timestamp, uuid } from 'drizzle-orm/pg-core';

/**
 * The fusebox (DESIGN.md "Operations"): kill switches that every api, cdc and sink process polls.
 * One row per switch that was ever set; a missing row means the switch is on. `projectId` and
 * `databaseId` are '' for the switches that do not need them (a primary key cannot hold NULLs).
 */
export const syncSwitch = pgTable(
  'SyncSwitch',
  {
    /** global | project | database */
    scope: text('scope').notNull(),
    projectId: text('projectId').notNull().default(''),
    databaseId: text('databaseId').notNull().default(''),
    /** cdc_enabled | sink_enabled (global), sink_enabled (project), enabled (database). */
    name: text('name').notNull(),
    enabled: boolean('enabled').notNull(),
    updatedAt: timestamp('updatedAt', { precision: 3, mode: 'date' }).notNull().defaultNow(),
  },
  (table) => [primaryKey({ name: 'SyncSwitch_pkey', columns: [table.scope, table.projectId, table.databaseId, table.name] })],
);

/**
 * Rebuilds of external databases asked for through the API. The sink process serving the database
 * takes a pending request, empties the mapped tables and resets progress in one transaction, and
 * reports how far the refill got (`recordsDone` of `recordsTotal`: topic records read back).
 */
export const sinkRebuild = pgTable(
  'SinkRebuild',
  {
    id: bigint('id', { mode: 'bigint' }).primaryKey().generatedAlwaysAsIdentity(),
    tenancyId: uuid('tenancyId').notNull(),
    databaseId: text('databaseId').notNull(),
    /** pending → running → done */
    state: text('state').notNull().default('pending'),
    /** Topic records applied since the rebuild began, and how many the topic held then. */
    recordsDone: bigint('recordsDone', { mode: 'number' }).notNull().default(0),
    recordsTotal: bigint('recordsTotal', { mode: 'number' }),
    /** Snapshot of the tenancy requested with the rebuild ("CdcSnapshot".id). */
    snapshotId: bigint('snapshotId', { mode: 'number' }),
    requestedAt: timestamp('requestedAt', { precision: 3, mode: 'date' }).notNull().defaultNow(),
    finishedAt: timestamp('finishedAt', { precision: 3, mode: 'date' }),
  },
  (table) => [index('SinkRebuild_database_idx').on(table.tenancyId, table.databaseId)],
);
