import { eq } from 'drizzle-orm';
import { Hono } from 'hono';
import { z } from 'zod';
import { externalDatabaseIdSchema, externalDatabaseInputSchema, storedProjectConfigSchema, type StoredProjectConfig } from '../../schema/project-config';
import { project } from '../../schema/tables';
import type { ApiEnv, Database } from '../api-env';
import { parseBody } from '../parse-body';
import { requireAccess } from '../project-auth';

const configUpdateBody = z.strictObject({
  db_sync: z.strictObject({
    /** Replaces the whole set: a database left out stops being synced. */
    external_databases: z.record(externalDatabaseIdSchema, externalDatabaseInputSchema).refine((value) => Object.keys(value).length <= 20, {
      message: 'at most 20 external databases',
    }),
  }),
});

/** Shows where a connection string points without its password. */
function redact(connectionString: string): string {
  try {
    const url = new URL(connectionString);
    if (url.password) url.password = '********';
    return url.toString();
  } catch {
    return '********';
  }
}

async function loadConfig(db: Database, projectId: string): Promise<StoredProjectConfig> {
  const [row] = await db.select({ config: project.config }).from(project).where(eq(project.id, projectId));
  return storedProjectConfigSchema.parse(row?.config ?? {});
}

export const projectConfigRoutes = new Hono<ApiEnv>()
  .get('/internal/config', requireAccess('admin'), async (c) => {
    const { db, secrets } = c.get('deps');
    const config = await loadConfig(db, c.get('project').id);
    const externalDatabases = Object.fromEntries(
      Object.entries(config.dbSync.externalDatabases).map(([id, database]) => [
        id,
        { type: database.type, connection_string: redact(secrets.open(database.encryptedConnectionString)) },
      ]),
    );
    return c.json({ db_sync: { external_databases: externalDatabases } });
  })
  /** Sets `dbSync.externalDatabases`; connection strings are encrypted before they are stored. */
  .patch('/internal/config', requireAccess('admin'), async (c) => {
    const { db, secrets } = c.get('deps');
    const body = await parseBody(c, configUpdateBody);
    const projectId = c.get('project').id;
    const externalDatabases = Object.fromEntries(
      Object.entries(body.db_sync.external_databases).map(([id, database]) => [
        id,
        { type: database.type, encryptedConnectionString: secrets.seal(database.connection_string) },
      ]),
    );
    const current = await loadConfig(db, projectId);
    const next: StoredProjectConfig = { ...current, dbSync: { ...current.dbSync, externalDatabases } };
    await db.update(project).set({ config: next, updatedAt: new Date() }).where(eq(project.id, projectId));
    return c.json({
      db_sync: {
        external_databases: Object.fromEntries(
          Object.entries(body.db_sync.external_databases).map(([id, database]) => [id, { type: database.type, connection_string: redact(database.connection_string) }]),
        ),
      },
    });
  });
