import { sql } from 'drizzle-orm';
import { doublePrecision, foreignKey, index, integer, jsonb, pgTable, text, timestamp, uuid } from 'drizzle-orm/pg-core';
import { tenancy } from './tables';

/**
 * Analytics (DESIGN.md "Analytics"). Neither table is published. Project admins query the events
 * through the view `analytics.events` (migration 0007), never these tables: see
 * api/analytics/query-runner.ts for how a query is confined to its project.
 */

// With time zone, unlike the published tables: queries compare and print these as UTC instants
// whatever their session, and the index serves `event_at` ranges directly.
const instant = (name: string) => timestamp(name, { precision: 3, mode: 'date', withTimezone: true });

/** One auth event (sign-up, sign-in, token refresh, …), written in the transaction of the action it records. */
export const analyticsEvent = pgTable(
  'AnalyticsEvent',
  {
    id: uuid('id').primaryKey().default(sql`gen_random_uuid()`),
    tenancyId: uuid('tenancyId').notNull(),
    projectId: text('projectId').notNull(),
    /** api/analytics/events.ts `analyticsEventType`. */
    type: text('type').notNull(),
    /** The user the event is about; null when there is none (or it was deleted). */
    projectUserId: uuid('projectUserId'),
    createdAt: instant('createdAt').notNull().defaultNow(),
    /** Per-type details (api/analytics/events.ts); never credentials or addresses. */
    data: jsonb('data').notNull().default(sql`'{}'::jsonb`),
  },
  (table) => [
    // Every query is confined to one tenancy and almost every one to a time range.
    index('AnalyticsEvent_tenancy_time_idx').on(table.tenancyId, table.createdAt),
    index('AnalyticsEvent_tenancy_type_time_idx').on(table.tenancyId, table.type, table.createdAt),
    foreignKey({ name: 'AnalyticsEvent_tenancy_fkey', columns: [table.tenancyId], foreignColumns: [tenancy.id] }).onDelete('cascade'),
  ],
);

/** A query an admin ran, with its timing, for `POST /internal/analytics/query/timing`. */
export const analyticsQuery = pgTable(
  'AnalyticsQuery',
  {
    id: uuid('id').primaryKey(),
    tenancyId: uuid('tenancyId').notNull(),
    /** ok | error | timeout | too_large */
    outcome: text('outcome').notNull(),
    /** From the request's arrival at the runner to the last row read, in ms. */
    wallClockMs: doublePrecision('wallClockMs').notNull(),
    /** Time the Postgres backend spent planning and executing the query, in ms (api/analytics/query-runner.ts). */
    cpuTimeMs: doublePrecision('cpuTimeMs').notNull(),
    rowCount: integer('rowCount').notNull(),
    createdAt: instant('createdAt').notNull().defaultNow(),
  },
  (table) => [
    index('AnalyticsQuery_tenancy_idx').on(table.tenancyId, table.createdAt),
    foreignKey({ name: 'AnalyticsQuery_tenancy_fkey', columns: [table.tenancyId], foreignColumns: [tenancy.id] }).onDelete('cascade'),
  ],
);
