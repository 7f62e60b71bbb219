import pg from 'pg';
import type { TestProject } from 'vitest/node';
import { describeLocalServices, upLocalServices } from '../../infra/local-services';
import { localSettings } from '../../infra/local-settings';
import { deleteTopicsWithPrefix } from './topic-cleanup';
import { migrateInternalDatabase } from '../../schema/migrate';
import { templateDatabase, type TestServices } from './test-services';

declare module 'vitest' {
  export interface ProvidedContext {
    testServices: TestServices;
  }
}

/** Drops what crashed tests may have left: their databases (t_…) and, first, their slots. */
async function dropLeftovers(adminUrl: string): Promise<void> {
  const client = new pg.Client({ connectionString: adminUrl });
  await client.connect();
  try {
    await client.query(`SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE slot_name LIKE 't\\_%' AND NOT active`);
    const stale = await client.query<{ datname: string }>(`SELECT datname FROM pg_database WHERE datname LIKE 't\\_%' OR datname = $1`, [templateDatabase]);
    for (const { datname } of stale.rows) await client.query(`DROP DATABASE IF EXISTS "${datname}" WITH (FORCE)`);
  } finally {
    await client.end();
  }
}

/**
 * Starts (or finds running) the test profile's services, and migrates a template database once;
 * each test then copies it into a database of its own.
 */
export default async function setup(project: TestProject): Promise<void> {
  const services = describeLocalServices(localSettings({ ...process.env, STACK_SYNC_PROFILE: 'test' }));
  await upLocalServices(services);
  const internalAdminUrl = services.env.DATABASE_URL!.replace(/\/stack$/, '/postgres');
  const externalAdminUrl = services.env.EXTERNAL_DATABASE_ADMIN_URL!;
  await dropLeftovers(internalAdminUrl);
  await dropLeftovers(externalAdminUrl);
  // Topics of tests and benchmarks that did not finish.
  await deleteTopicsWithPrefix(services.env.KAFKA_BROKERS!.split(','), ['test.t_', 'bench.bench_']);
  const admin = new pg.Client({ connectionString: internalAdminUrl });
  await admin.connect();
  await admin.query(`CREATE DATABASE "${templateDatabase}"`);
  await admin.end();
  await migrateInternalDatabase(internalAdminUrl.replace(/\/postgres$/, `/${templateDatabase}`));
  project.provide('testServices', { internalAdminUrl, externalAdminUrl, kafkaBrokers: services.env.KAFKA_BROKERS! });
}
