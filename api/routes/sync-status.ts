import { eq } from 'drizzle-orm';
import { Hono } from 'hono';
import { sinkDatabaseStatus } from '../../schema/sink-tables';
import { connectionView } from '../external-database-view';
import { loadProjectConfig } from '../project-config-store';
import type { ApiEnv } from '../api-env';
import { emptyBody, parseBody } from '../parse-body';
import { requireAccess } from '../project-auth';

/**
 * The project's external databases: how their sync is doing (state, applied offset, last error) as
 * the sink processes serving them last reported it, and a re-snapshot on request.
 */
export const syncStatusRoutes = new Hono<ApiEnv>()
  .post('/internal/db-sync/resnapshot', requireAccess('admin'), async (c) => {
    await parseBody(c, emptyBody);
    // The reader publishes the tenancy's rows as `r` events while streaming goes on; the sink
    // upserts them into every external database of the tenancy.
    const id = await c.get('deps').requestSnapshot(c.get('project').tenancyId);
    return c.json({ snapshot_id: id }, 202);
  })
  .get('/internal/db-sync/status', requireAccess('admin'), async (c) => {
    const { db, secrets, sinkStatusStaleAfterMs } = c.get('deps');
    const { id: projectId, tenancyId } = c.get('project');
    const config = await loadProjectConfig(db, projectId);
    const reports = new Map(
      (await db.select().from(sinkDatabaseStatus).where(eq(sinkDatabaseStatus.tenancyId, tenancyId))).map((report) => [report.databaseId, report]),
    );
    const now = Date.now();
    const externalDatabases = Object.entries(config.dbSync.externalDatabases)
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([id, database]) => {
        const view = connectionView(database, secrets);
        if ('problem' in view) {
          return { id, type: database.type, connection: null, state: 'error', last_synced_sequence_id: null, last_error: view.problem, reported_by: null, reported_at_millis: null };
        }
        // Written by whichever sink process serves this database now; none recent: nobody does.
        const report = reports.get(id);
        const fresh = report !== undefined && now - report.reportedAt.getTime() <= sinkStatusStaleAfterMs;
        return {
          id,
          type: database.type,
          connection: view.connection,
          state: fresh ? report.state : 'unknown',
          last_synced_sequence_id: report ? report.appliedOffset.toString() : null,
          last_error: fresh ? (report.lastError ?? null) : null,
          reported_by: report?.reportedBy ?? null,
          reported_at_millis: report?.reportedAt.getTime() ?? null,
        };
      });
    return c.json({ generated_at_millis: now, external_databases: externalDatabases });
  });
