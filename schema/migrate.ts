import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { drizzle } from 'drizzle-orm/node-postgres';
import { migrate } from 'drizzle-orm/node-postgres/migrator';
import pg from 'pg';

export const migrationsFolder = path.join(path.dirname(fileURLToPath(import.meta.url)), 'migrations');

// Several processes (api, cdc, sink) may start together; one migrates at a time.
const migrationLockKey = 7_264_913_000;

export interface MigrateOptions {
  /** Defaults to schema/migrations. */
  migrationsFolder?: string;
  /**
   * Receives what migrations report with RAISE NOTICE (e.g. rows a data fix had to leave aside);
   * defaults to stderr, so an operator running the migration sees it.
   */
  onNotice?: (message: string) => void;
}

/** Applies the drizzle-kit migrations (and the hand-written ones among them) to the internal database. */
export async function migrateInternalDatabase(databaseUrl: string, options: MigrateOptions = {}): Promise<void> {
  const onNotice = options.onNotice ?? ((message: string) => process.stderr.write(`[migrate] ${message}\n`));
  const client = new pg.Client({ connectionString: databaseUrl });
  // RAISE NOTICE from a migration carries SQLSTATE 00000; the "already exists, skipping" notices of
  // the migrator's own bookkeeping (42P06, 42P07) are noise on every start.
  client.on('notice', (notice) => {
    if (notice.code === '00000') onNotice(notice.message ?? '');
  });
  await client.connect();
  try {
    await client.query('SELECT pg_advisory_lock($1)', [migrationLockKey]);
    await migrate(drizzle(client), { migrationsFolder: options.migrationsFolder ?? migrationsFolder });
  } finally {
    await client.end();
  }
}
