import { desc, eq, inArray, sql } from 'drizzle-orm';
import { Hono } from 'hono';
import { z } from 'zod';
import { sinkDatabaseStatus } from '../../schema/sink-tables';
import { sinkRebuild, syncSwitch } from '../../schema/fusebox-tables';
import { FuseboxState, switchRowSchema } from '../../schema/fusebox';
import { storedProjectConfigSchema, type StoredProjectConfig } from '../../schema/project-config';
import { defaultMappings } from '../../sinks/mappings';
import { project, tenancy } from '../../schema/tables';
import { knownErrors } from '../api-error';
import { databaseStatusView, tenantTopicView, type RebuildRow, type SinkReport } from '../db-sync-status-view';
import { tenantTopic } from '../../schema/change-event';
import { connectionView } from '../external-database-view';
import { loadProjectConfig } from '../project-config-store';
import type { ApiEnv, Database } from '../api-env';
import { parseBody } from '../parse-body';
import { requireProjectAdminOrInternalKey } from '../operator-auth';

export const syncStatusQuery = z.strictObject({
  /** `all`: every tenancy and the global figures (internal admin key only). */
  scope: z.enum(['project', 'all']).optional(),
});

export const resnapshotBody = z.strictObject({
  /** With the internal admin key: the tenancy to re-snapshot, or `all`. A project's admin key re-snapshots its own. */
  tenancy_id: z.union([z.uuid(), z.literal('all')]).optional(),
});

/** The slot's figures are skipped rather than waited for past this: the status answers within a second. */
const slotQueryTimeoutMs = 500;

const mappingIds = defaultMappings.map((mapping) => mapping.name);

export async function readFusebox(db: Database): Promise<FuseboxState> {
  const rows = await db.select({ scope: syncSwitch.scope, projectId: syncSwitch.projectId, databaseId: syncSwitch.databaseId, name: syncSwitch.name, enabled: syncSwitch.enabled }).from(syncSwitch);
  return new FuseboxState(rows.map((row) => switchRowSchema.parse(row)));
}

interface TenancyInput {
  tenancyId: string;
  projectId: string;
  config: StoredProjectConfig;
}

/** The external databases of some tenancies as the status shows them. Reads only the internal database. */
async function databaseViews(c: { get: (key: 'deps') => ApiEnv['Variables']['deps'] }, tenancies: readonly TenancyInput[], fusebox: FuseboxState, nowMs: number) {
  const { db, secrets, sinkStatusStaleAfterMs, cdcTopicPrefix } = c.get('deps');
  const tenancyIds = tenancies.filter((entry) => Object.keys(entry.config.dbSync.externalDatabases).length > 0).map((entry) => entry.tenancyId);
  const reports = new Map<string, SinkReport>();
  const rebuilds = new Map<string, RebuildRow>();
  if (tenancyIds.length > 0) {
    for (const report of await db.select().from(sinkDatabaseStatus).where(inArray(sinkDatabaseStatus.tenancyId, tenancyIds))) {
      reports.set(`${report.tenancyId}/${report.databaseId}`, report);
    }
    // Newest first: the first seen per database is its latest rebuild.
    for (const rebuild of await db.select().from(sinkRebuild).where(inArray(sinkRebuild.tenancyId, tenancyIds)).orderBy(desc(sinkRebuild.id))) {
      const key = `${rebuild.tenancyId}/${rebuild.databaseId}`;
      if (!rebuilds.has(key)) rebuilds.set(key, rebuild);
    }
  }
  return new Map(
    tenancies.map(({ tenancyId, projectId, config }) => {
      const ids = Object.keys(config.dbSync.externalDatabases).sort((a, b) => a.localeCompare(b));
      // Only reports of sinks still serving the tenancy count: an old figure would pass for the end of the topic.
      const freshReports = ids.map((id) => reports.get(`${tenancyId}/${id}`)).filter((report) => report !== undefined && nowMs - report.reportedAt.getTime() <= sinkStatusStaleAfterMs);
      const databases = Object.entries(config.dbSync.externalDatabases)
        .sort(([a], [b]) => a.localeCompare(b))
        .map(([id, database]) =>
          databaseStatusView({
            id,
            type: database.type,
            connection: connectionView(database, secrets),
            report: reports.get(`${tenancyId}/${id}`),
            pausedBy: fusebox.databasePausedBy(projectId, id),
            rebuild: rebuilds.get(`${tenancyId}/${id}`),
            mappingIds,
            nowMs,
            staleAfterMs: sinkStatusStaleAfterMs,
          }),
        );
      return [tenancyId, { databases, topic: tenantTopicView(tenantTopic(cdcTopicPrefix, tenancyId), freshReports) }] as const;
    }),
  );
}

/** The reader and its slot, as far as the internal database tells within the timeout. */
async function readerFigures(db: Database, slot: string, fusebox: FuseboxState) {
  const query = db.execute<{ active: boolean; wal_status: string | null; retained: string | null; safe: string | null }>(
    sql`SELECT active, wal_status, pg_wal_lsn_diff(pg_current_wal_lsn(), confirmed_flush_lsn)::text AS retained, safe_wal_size::text AS safe
          FROM pg_replication_slots WHERE slot_name = ${slot}`,
  );
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<undefined>((resolve) => (timer = setTimeout(() => resolve(undefined), slotQueryTimeoutMs)));
  const result = await Promise.race([query.catch(() => undefined), timeout]);
  clearTimeout(timer);
  const row = result?.rows[0];
  const condition = result === undefined ? 'unknown' : !row ? 'missing' : row.wal_status === 'reserved' || row.wal_status === 'extended' ? 'healthy' : row.wal_status === 'unreserved' ? 'at_risk' : 'lost';
  return {
    slot,
    state: !fusebox.cdcEnabled ? 'paused' : row?.active ? 'streaming' : result === undefined ? 'unknown' : 'not_streaming',
    slot_condition: condition,
    slot_retained_bytes: row?.retained === null || row?.retained === undefined ? null : Number(row.retained),
    slot_safe_wal_size_bytes: row?.safe === null || row?.safe === undefined ? null : Number(row.safe),
  };
}

/**
 * The project's external databases: how their sync is doing (status, lag, backlog, last error,
 * rebuild progress) as the sink processes serving them last reported it and as the fusebox says;
 * with the internal admin key and `?scope=all`, every tenancy plus the reader's and the sinks'
 * global figures. Built from the internal database only: an external database that hangs cannot
 * slow it down.
 */
export const syncStatusRoutes = new Hono<ApiEnv>()
  .post('/internal/db-sync/resnapshot', requireProjectAdminOrInternalKey(), async (c) => {
    const body = await parseBody(c, resnapshotBody);
    let tenancyId: string | null;
    if (c.get('operator') === 'internal-admin') {
      if (body.tenancy_id === undefined) throw knownErrors.schema('Request validation failed on body — tenancy_id: a tenancy id or "all" is required with the internal admin key', { issues: [{ path: 'tenancy_id', message: 'required' }] });
      tenancyId = body.tenancy_id === 'all' ? null : body.tenancy_id;
    } else {
      tenancyId = c.get('project').tenancyId;
      // A project re-snapshots its own tenancy only; another id is not one of its things.
      if (body.tenancy_id !== undefined && body.tenancy_id !== tenancyId) throw knownErrors.itemNotFound();
    }
    // The reader publishes the tenancy's rows as `r` events while streaming goes on; the sink
    // upserts them into every external database of the tenancy.
    const id = await c.get('deps').requestSnapshot(tenancyId);
    return c.json({ snapshot_id: id }, 202);
  })
  .get('/internal/db-sync/resnapshot/:snapshotId', requireProjectAdminOrInternalKey(), async (c) => {
    const snapshotId = c.req.param('snapshotId');
    const progress = /^[0-9]{1,18}$/.test(snapshotId) ? await c.get('deps').snapshotProgress(snapshotId) : undefined;
    if (!progress || (c.get('operator') === 'project-admin' && progress.tenancyId !== c.get('project').tenancyId)) throw knownErrors.itemNotFound();
    return c.json({
      snapshot_id: progress.id,
      tenancy_id: progress.tenancyId,
      state: progress.state,
      source_table: progress.sourceTable,
      rows_done: progress.rowsDone,
      rows_total: progress.rowsTotal,
      requested_at_millis: progress.requestedAt.getTime(),
      done_at_millis: progress.doneAt?.getTime() ?? null,
    });
  })
  .get('/internal/db-sync/status', requireProjectAdminOrInternalKey(), async (c) => {
    const parsedQuery = syncStatusQuery.safeParse(c.req.query());
    if (!parsedQuery.success) {
      const issues = parsedQuery.error.issues.map((issue) => ({ path: issue.path.join('.') || '(query)', message: issue.message }));
      throw knownErrors.schema(`Request validation failed on query — ${issues.map((issue) => `${issue.path}: ${issue.message}`).join('; ')}`, { issues });
    }
    const { db, cdcSlot, sinkStatusStaleAfterMs } = c.get('deps');
    const now = Date.now();
    const fusebox = await readFusebox(db);
    if (c.get('operator') === 'project-admin') {
      if (parsedQuery.data.scope === 'all') throw knownErrors.internalAdminKeyRequired('The status of every tenancy');
      const { id: projectId, tenancyId } = c.get('project');
      const config = await loadProjectConfig(db, projectId);
      const views = await databaseViews(c, [{ tenancyId, projectId, config }], fusebox, now);
      return c.json({
        generated_at_millis: now,
        tenancy_id: tenancyId,
        fusebox: { cdc_enabled: fusebox.cdcEnabled, sink_enabled: fusebox.sinkEnabled, project_sink_enabled: fusebox.projectSinkEnabled(projectId) },
        topic: views.get(tenancyId)?.topic ?? null,
        external_databases: views.get(tenancyId)?.databases ?? [],
      });
    }
    const rows = await db.select({ tenancyId: tenancy.id, projectId: project.id, config: project.config }).from(tenancy).innerJoin(project, eq(project.id, tenancy.projectId));
    const tenancies = rows.map((row) => ({ tenancyId: row.tenancyId, projectId: row.projectId, config: storedProjectConfigSchema.parse(row.config ?? {}) }));
    const [views, reader, sinkFigures] = await Promise.all([
      databaseViews(c, tenancies, fusebox, now),
      readerFigures(db, cdcSlot, fusebox),
      db
        .select({ processes: sql<number>`count(DISTINCT ${sinkDatabaseStatus.reportedBy})::int`, lanes: sql<number>`count(DISTINCT ${sinkDatabaseStatus.tenancyId})::int` })
        .from(sinkDatabaseStatus)
        .where(sql`${sinkDatabaseStatus.reportedAt} > now() - make_interval(secs => ${sinkStatusStaleAfterMs / 1000})`),
    ]);
    const withSync = tenancies.filter((entry) => Object.keys(entry.config.dbSync.externalDatabases).length > 0);
    const databases = [...views.values()].flatMap((view) => view.databases);
    const byStatus: Record<string, number> = {};
    for (const database of databases) byStatus[database.status] = (byStatus[database.status] ?? 0) + 1;
    return c.json({
      generated_at_millis: now,
      global: {
        tenancies: tenancies.length,
        tenancies_with_sync: withSync.length,
        external_databases: databases.length,
        external_databases_by_status: byStatus,
        fusebox: { cdc_enabled: fusebox.cdcEnabled, sink_enabled: fusebox.sinkEnabled },
        reader,
        sink: { processes: sinkFigures[0]?.processes ?? 0, lanes: sinkFigures[0]?.lanes ?? 0 },
      },
      tenancies: withSync.map((entry) => ({
        tenancy_id: entry.tenancyId,
        project_id: entry.projectId,
        topic: views.get(entry.tenancyId)?.topic ?? null,
        external_databases: views.get(entry.tenancyId)?.databases ?? [],
      })),
    });
  });
