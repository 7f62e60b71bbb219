import { Hono } from 'hono';
import type { ApiEnv } from '../api-env';
import { requireAccess } from '../project-auth';

/** The project's external databases and how their sync is doing (state, applied offset, last error). */
export const syncStatusRoutes = new Hono<ApiEnv>().get('/internal/db-sync/status', requireAccess('admin'), (c) => {
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
