import { and, desc, eq, inArray } from 'drizzle-orm';
import { Hono, type Context } from 'hono';
import { sinkRebuild, syncSwitch } from '../../schema/fusebox-tables';
import { fuseboxUpdateBody, switchRowsOf, type FuseboxState, type SwitchRow } from '../../schema/fusebox';
import { externalDatabaseIdSchema } from '../../schema/project-config';
import { knownErrors } from '../api-error';
import type { ApiEnv } from '../api-env';
import { emptyBody, parseBody } from '../parse-body';
import { loadProjectConfig } from '../project-config-store';
import { requireAccess } from '../project-auth';
import { requireProjectAdminOrInternalKey } from '../operator-auth';
import { readFusebox } from './sync-status';

async function writeSwitches(c: Context<ApiEnv>, rows: readonly SwitchRow[]): Promise<void> {
  if (rows.length === 0) return;
  const { db } = c.get('deps');
  const now = new Date();
  for (const row of rows) {
    await db
      .insert(syncSwitch)
      .values({ ...row, updatedAt: now })
      .onConflictDoUpdate({ target: [syncSwitch.scope, syncSwitch.projectId, syncSwitch.databaseId, syncSwitch.name], set: { enabled: row.enabled, updatedAt: now } });
  }
}

/** The fusebox as the caller may see it: global switches for all; a project's own, or every stored one for the internal key. */
async function fuseboxView(c: Context<ApiEnv>, fusebox: FuseboxState) {
  const global = { cdc_enabled: fusebox.cdcEnabled, sink_enabled: fusebox.sinkEnabled };
  if (c.get('operator') === 'internal-admin') {
    const { db } = c.get('deps');
    const stored = await db.select().from(syncSwitch).where(inArray(syncSwitch.scope, ['project', 'database']));
    return {
      global,
      switches: stored.map((row) => ({ scope: row.scope, project_id: row.projectId, ...(row.databaseId ? { database_id: row.databaseId } : {}), name: row.name, enabled: row.enabled, updated_at_millis: row.updatedAt.getTime() })),
    };
  }
  const { id: projectId } = c.get('project');
  const config = await loadProjectConfig(c.get('deps').db, projectId);
  return {
    global,
    project: { sink_enabled: fusebox.projectSinkEnabled(projectId) },
    external_databases: Object.keys(config.dbSync.externalDatabases)
      .sort()
      .map((id) => ({ id, enabled: fusebox.databaseEnabled(projectId, id), paused_by: fusebox.databasePausedBy(projectId, id) ?? null })),
  };
}

/** The external database named in the path, which must be one of the authenticated project's. */
async function projectDatabase(c: Context<ApiEnv>): Promise<string> {
  const databaseId = c.req.param('databaseId') ?? '';
  const { id: projectId } = c.get('project');
  const config = await loadProjectConfig(c.get('deps').db, projectId);
  if (!externalDatabaseIdSchema.safeParse(databaseId).success || !(databaseId in config.dbSync.externalDatabases)) throw knownErrors.externalDatabaseNotFound(databaseId.slice(0, 64));
  return databaseId;
}

function databaseSwitch(c: Context<ApiEnv>, enabled: boolean) {
  return async () => {
    await parseBody(c, emptyBody);
    const databaseId = await projectDatabase(c);
    const { id: projectId } = c.get('project');
    await writeSwitches(c, [{ scope: 'database', projectId, databaseId, name: 'enabled', enabled }]);
    const fusebox = await readFusebox(c.get('deps').db);
    return c.json({ id: databaseId, enabled, paused_by: fusebox.databasePausedBy(projectId, databaseId) ?? null });
  };
}

/**
 * Operators' levers (DESIGN.md "Operations"): the fusebox's kill switches — global ones with the
 * internal admin key, a project's own with its admin key — pausing and resuming one external
 * database, and rebuilding one without SQL. Switches are rows every cdc and sink process polls
 * (infra/runtime/fusebox-poller.ts): they obey within about a second, and a restarted process
 * comes back as switched.
 */
export const syncOperationRoutes = new Hono<ApiEnv>()
  .get('/internal/db-sync/fusebox', requireProjectAdminOrInternalKey(), async (c) => c.json(await fuseboxView(c, await readFusebox(c.get('deps').db))))
  .post('/internal/db-sync/fusebox', requireProjectAdminOrInternalKey(), async (c) => {
    const update = await parseBody(c, fuseboxUpdateBody);
    const internal = c.get('operator') === 'internal-admin';
    if (update.global && !internal) throw knownErrors.internalAdminKeyRequired('Global switches');
    if (update.project && internal) throw knownErrors.projectAdminKeyRequired('A project switch');
    await writeSwitches(c, switchRowsOf(update, internal ? undefined : c.get('project').id));
    return c.json(await fuseboxView(c, await readFusebox(c.get('deps').db)));
  })
  .post('/internal/db-sync/external-databases/:databaseId/pause', requireAccess('admin'), (c) => databaseSwitch(c, false)())
  .post('/internal/db-sync/external-databases/:databaseId/resume', requireAccess('admin'), (c) => databaseSwitch(c, true)())
  .post('/internal/db-sync/external-databases/:databaseId/rebuild', requireAccess('admin'), async (c) => {
    await parseBody(c, emptyBody);
    const databaseId = await projectDatabase(c);
    const { db } = c.get('deps');
    const { tenancyId } = c.get('project');
    // A rebuild not yet finished is joined, not doubled: a second click must not restart it.
    const [open] = await db
      .select()
      .from(sinkRebuild)
      .where(and(eq(sinkRebuild.tenancyId, tenancyId), eq(sinkRebuild.databaseId, databaseId), inArray(sinkRebuild.state, ['pending', 'running'])))
      .orderBy(desc(sinkRebuild.id))
      .limit(1);
    const rebuild = open ?? (await db.insert(sinkRebuild).values({ tenancyId, databaseId }).returning())[0]!;
    return c.json({ id: databaseId, rebuild_id: rebuild.id.toString(), state: rebuild.state }, 202);
  })
  .get('/internal/db-sync/external-databases/:databaseId/rebuild', requireAccess('admin'), async (c) => {
    const databaseId = await projectDatabase(c);
    const { tenancyId } = c.get('project');
    const [latest] = await c
      .get('deps')
      .db.select()
      .from(sinkRebuild)
      .where(and(eq(sinkRebuild.tenancyId, tenancyId), eq(sinkRebuild.databaseId, databaseId)))
      .orderBy(desc(sinkRebuild.id))
      .limit(1);
    if (!latest) throw knownErrors.itemNotFound();
    return c.json({
      id: databaseId,
      rebuild_id: latest.id.toString(),
      state: latest.state,
      records_done: latest.recordsDone,
      records_total: latest.recordsTotal,
      requested_at_millis: latest.requestedAt.getTime(),
      finished_at_millis: latest.finishedAt?.getTime() ?? null,
    });
  });
