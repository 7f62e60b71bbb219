import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { inject } from 'vitest';
import { parseConnectionString, type ExternalConnection } from '../../schema/external-connection';
import { parseAllowedTargets, type TargetAddressPolicy } from '../../sinks/target-address-policy';

/** Where the test profile's services are; provided by global-setup.ts. */
export interface TestServices {
  internalAdminUrl: string;
  externalAdminUrl: string;
  kafkaBrokers: string;
}

/** The migrated database every test's internal database is copied from. */
export const templateDatabase = 'stack_sync_template';

export function testServices(): TestServices {
  return inject('testServices');
}

/** A name no other test uses: `t_` marks what global setup may clean up after a crash. */
export function uniqueName(prefix = 't'): string {
  return `${prefix}_${randomBytes(6).toString('hex')}`;
}

export function databaseUrl(adminUrl: string, database: string): string {
  const url = new URL(adminUrl);
  url.pathname = `/${database}`;
  return url.toString();
}

export async function withClient<T>(url: string, use: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return await use(client);
  } finally {
    await client.end();
  }
}

export async function createDatabase(adminUrl: string, name: string, template?: string): Promise<string> {
  await withClient(adminUrl, (client) => client.query(`CREATE DATABASE "${name}"${template ? ` TEMPLATE "${template}"` : ''}`));
  return databaseUrl(adminUrl, name);
}

export async function dropDatabase(adminUrl: string, name: string): Promise<void> {
  await withClient(adminUrl, (client) => client.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`));
}

/** A test database's URL as the sink takes it (parsed like a saved connection string). */
export function externalConnectionOf(url: string): ExternalConnection {
  const parsed = parseConnectionString(url);
  if (!parsed.ok) throw new Error(`not a connection string the sink accepts: ${parsed.problem}`);
  return parsed.connection;
}

/**
 * Tests reach their databases (and fault-injecting proxies) on loopback, which the sink refuses
 * unless allowed; the internal cluster stays refused.
 */
export const testAllowedTargets = '127.0.0.1';

export function testAddressPolicy(): TargetAddressPolicy {
  const internal = new URL(testServices().internalAdminUrl);
  return { allowed: parseAllowedTargets(testAllowedTargets), internal: [{ address: internal.hostname, port: Number(internal.port) }] };
}

/**
 * Secrets of a context's own: a configuration whose Postgres or Kafka is not the local development
 * services (a private broker or cluster of one test) must not use the repository's published ones.
 */
export function ownSecrets(): Record<string, string> {
  return { STACK_SECRET_KEY: randomBytes(32).toString('base64url'), STACK_INTERNAL_ADMIN_KEY: randomBytes(24).toString('base64url') };
}
