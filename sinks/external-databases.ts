import { createHash } from 'node:crypto';
import type pg from 'pg';
import { storedProjectConfigSchema } from '../schema/project-config';
import type { SecretBox } from '../schema/secret-box';
import { parseConnectionString, type ExternalConnection } from '../schema/external-connection';

/** One external database the sink should be writing, as project configs say now. */
export interface ExternalDatabase {
  /** `<tenancyId>/<databaseId>`: stable across config edits of the same database. */
  key: string;
  tenancyId: string;
  /** The project the tenancy belongs to (its fusebox switches are per project). */
  projectId: string;
  databaseId: string;
  /** Changes when the connection string changes, so the worker restarts with the new one. */
  fingerprint: string;
  connection: ExternalConnection;
}

export interface ExternalDatabaseProblem {
  key: string;
  tenancyId: string;
  databaseId: string;
  code: string;
  message: string;
}

/**
 * Reads every tenancy's configured external databases from the internal database and decrypts
 * their connection strings. A config that cannot be read is a problem of that database alone.
 */
export async function loadExternalDatabases(
  internal: pg.Pool,
  secrets: SecretBox,
): Promise<{ databases: ExternalDatabase[]; problems: ExternalDatabaseProblem[] }> {
  const result = await internal.query<{ tenancy_id: string; project_id: string; config: unknown }>(
    `SELECT t.id AS tenancy_id, p.id AS project_id, p.config
       FROM "Project" p JOIN "Tenancy" t ON t."projectId" = p.id
      WHERE p.config -> 'dbSync' -> 'externalDatabases' <> '{}'::jsonb`,
  );
  const databases: ExternalDatabase[] = [];
  const problems: ExternalDatabaseProblem[] = [];
  for (const row of result.rows) {
    const config = storedProjectConfigSchema.safeParse(row.config);
    if (!config.success) {
      problems.push({ key: `${row.tenancy_id}/*`, tenancyId: row.tenancy_id, databaseId: '*', code: 'SINK_INVALID_PROJECT_CONFIG', message: config.error.message });
      continue;
    }
    for (const [databaseId, database] of Object.entries(config.data.dbSync.externalDatabases)) {
      const key = `${row.tenancy_id}/${databaseId}`;
      let connectionString: string;
      try {
        connectionString = secrets.open(database.encryptedConnectionString);
      } catch {
        problems.push({
          key,
          tenancyId: row.tenancy_id,
          databaseId,
          code: 'SINK_UNREADABLE_CONNECTION_STRING',
          message: 'the stored connection string cannot be decrypted with this STACK_SECRET_KEY',
        });
        continue;
      }
      // Checked again here: configs saved before connection strings were checked, or written
      // behind the API's back, get no further than those saved through it.
      const parsed = parseConnectionString(connectionString);
      if (!parsed.ok) {
        problems.push({ key, tenancyId: row.tenancy_id, databaseId, code: 'SINK_CONNECTION_STRING_REFUSED', message: `the connection string is refused: ${parsed.problem}` });
        continue;
      }
      const fingerprint = createHash('sha256').update(connectionString).digest('hex');
      databases.push({ key, tenancyId: row.tenancy_id, projectId: row.project_id, databaseId, fingerprint, connection: parsed.connection });
    }
  }
  return { databases, problems };
}
