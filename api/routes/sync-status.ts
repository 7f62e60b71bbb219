import { Hono } from 'hono';
import type { ApiEnv } from '../api-env';
import { emptyBody, parseBody } from '../parse-body';
import { requireAccess } from '../project-auth';

/** The project's external databases: how their sync is doing (state, applied offset, last error), and a re-snapshot on request. */
export const syncStatusRoutes = new Hono<ApiEnv>()
  .post('/internal/db-sync/resnapshot', requireAccess('admin'), async (c) => {
    await parseBody(c, emptyBody);
    // The reader publishes the tenancy's rows as `r` events while streaming goes on; the sink
    // upserts them into every external database of the tenancy.
    const id = await c.get('deps').requestSnapshot(c.get('project').tenancyId);
    return c.json({ snapshot_id: id }, 202);
  })
  .get('/internal/db-sync/status', requireAccess('admin'), (c) => {
  const { syncStatus } = c.get('deps');
  const { tenancyId } = c.get('project');
  if (!syncStatus) return c.json({ sink_running_in_this_process: false, external_databases: [] });
  const externalDatabases = syncStatus()
    .filter((status) => status.tenancyId === tenancyId)
    .map((status) => ({
      id: status.databaseId,
      state: status.state,
      last_synced_sequence_id: status.appliedOffset,
      last_error: status.lastError ?? null,
    }));
  return c.json({ sink_running_in_this_process: true, external_databases: externalDatabases });
});
