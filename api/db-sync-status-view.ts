import { z } from 'zod';
import type { ConnectionView } from './external-database-view';

/** What a sink wrote about the users table ("SinkDatabaseStatus"."usersTable"). */
const usersTableReportSchema = z.object({ exists: z.boolean(), totalRows: z.number().int().nonnegative(), estimated: z.boolean(), measuredAtMillis: z.number() });

/** What the sink process serving a database last wrote ("SinkDatabaseStatus"). */
export interface SinkReport {
  state: string;
  appliedOffset: bigint;
  lastError: unknown;
  oldestPendingAtMillis: number | null;
  pendingEvents: number | null;
  /** The users table as the sink last counted it, unparsed (jsonb). */
  usersTable: unknown;
  topicHighOffset: bigint | null;
  reportedBy: string;
  reportedAt: Date;
}

/** An operator's rebuild of the database, the latest one ("SinkRebuild"). */
export interface RebuildRow {
  id: bigint;
  state: string;
  recordsDone: number;
  recordsTotal: number | null;
  requestedAt: Date;
  finishedAt: Date | null;
}

export interface DatabaseStatusInput {
  id: string;
  type: string;
  connection: { connection: ConnectionView } | { problem: { code: string; message: string } };
  report: SinkReport | undefined;
  /** The widest fusebox switch that pauses it, if any. */
  pausedBy: 'global' | 'project' | 'database' | undefined;
  rebuild: RebuildRow | undefined;
  mappingIds: readonly string[];
  nowMs: number;
  /** A report older than this means no sink process serves the database now, in ms. */
  staleAfterMs: number;
}

/**
 * One external database in the status API (DESIGN.md "Operations"), from the config, the fusebox
 * and the report of the sink process serving it. Pure, so that the rules are tested as such:
 * - `status`: `paused` when a switch says so (at once, before any sink notices), `error` when the
 *   config cannot be used or the sink failed, `unknown` when no sink reported lately, else `ok`;
 * - `lag_seconds`: now minus the commit time of the oldest change not applied, so it keeps growing
 *   between reports; 0 when caught up, null when unknown;
 * - `backlog`: change events in the topic after the database's position;
 * - `users_table`: counted in the database itself by the sink (the last count stands while no
 *   sink reports: it says what the table held then), null before the first count.
 * Connections are shown only as their redacted view: passwords never leave.
 */
export function databaseStatusView(input: DatabaseStatusInput) {
  const { report, nowMs } = input;
  const rebuild = input.rebuild
    ? {
        id: input.rebuild.id.toString(),
        state: input.rebuild.state,
        records_done: input.rebuild.recordsDone,
        records_total: input.rebuild.recordsTotal,
        requested_at_millis: input.rebuild.requestedAt.getTime(),
        finished_at_millis: input.rebuild.finishedAt?.getTime() ?? null,
      }
    : null;
  if ('problem' in input.connection) {
    return {
      id: input.id,
      type: input.type,
      connection: null,
      status: 'error',
      state: 'error',
      paused_by: input.pausedBy ?? null,
      error: input.connection.problem,
      last_error: input.connection.problem,
      last_synced_sequence_id: null,
      backlog: null,
      lag_seconds: null,
      mapping_status: [],
      users_table: null,
      rebuild,
      reported_by: null,
      reported_at_millis: null,
    };
  }
  const fresh = report !== undefined && nowMs - report.reportedAt.getTime() <= input.staleAfterMs;
  const state = fresh ? report.state : 'unknown';
  const lastError = fresh ? (report.lastError ?? null) : null;
  const lagSeconds = !fresh ? null : report.oldestPendingAtMillis === null ? (report.pendingEvents === null ? null : 0) : Math.max(0, nowMs - report.oldestPendingAtMillis) / 1000;
  const backlog = fresh ? report.pendingEvents : null;
  const lastSynced = report ? report.appliedOffset.toString() : null;
  const status = input.pausedBy !== undefined || state === 'paused' ? 'paused' : state === 'error' ? 'error' : state === 'unknown' ? 'unknown' : 'ok';
  return {
    id: input.id,
    type: input.type,
    connection: input.connection.connection,
    status,
    state,
    paused_by: input.pausedBy ?? null,
    error: lastError,
    last_error: lastError,
    last_synced_sequence_id: lastSynced,
    backlog,
    lag_seconds: lagSeconds,
    // Every mapping of a database moves in one transaction: they share the database's position.
    mapping_status: input.mappingIds.map((mappingId) => ({
      mapping_id: mappingId,
      last_synced_sequence_id: lastSynced,
      backlog,
      lag_seconds: lagSeconds,
      updated_at_millis: report?.reportedAt.getTime() ?? null,
    })),
    users_table: usersTableView(report?.usersTable),
    rebuild,
    reported_by: report?.reportedBy ?? null,
    reported_at_millis: report?.reportedAt.getTime() ?? null,
  };
}

function usersTableView(reported: unknown) {
  const parsed = usersTableReportSchema.safeParse(reported);
  if (!parsed.success) return null;
  const { exists, totalRows, estimated, measuredAtMillis } = parsed.data;
  return { exists, total_rows: totalRows, total_rows_estimated: estimated, measured_at_millis: measuredAtMillis };
}

/**
 * The tenant topic of a tenancy: its name, and its end offset (the offset the next record gets)
 * as the sinks serving its databases last fetched it, the highest of their reports; null when no
 * sink has fetched from it yet.
 */
export function tenantTopicView(name: string, reports: readonly (SinkReport | undefined)[]) {
  let high: bigint | null = null;
  for (const report of reports) {
    const offset = report?.topicHighOffset ?? null;
    if (offset !== null && (high === null || offset > high)) high = offset;
  }
  return { name, high_offset: high === null ? null : high.toString() };
}
