import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, rmSync } from 'node:fs';
import path from 'node:path';
import { ensureConnectJars } from '../kafka-connect';
import { repoRoot } from '../local-settings';

/**
 * Debezium's PostgreSQL source connector, fetched by Maven from Maven Central into a git-ignored
 * directory the first time, like the broker's and the Connect worker's jars: what
 * `npm run bench:compare` runs beside our pipeline. The worker and the JDBC sink come from
 * infra/kafka-connect.ts.
 */

/** The version measured in ../shared/STACK-NOTES.md; newer ones are only partly on Central here. */
export const debeziumPostgresVersion = '3.6.1.Final';

const debeziumDir = path.join(repoRoot, 'infra', 'debezium');
/** `plugin.path` entry holding `debezium-connector-postgres/` once unpacked. */
export const debeziumPluginsDir = path.join(debeziumDir, 'target', 'plugins');
const mavenSettings = path.join(repoRoot, 'infra', 'kafka-connect', 'maven-settings.xml');

/** Fetches the worker, the JDBC sink and the PostgreSQL source once; later calls find them cached. */
export function ensureDebeziumPlugins(): void {
  ensureConnectJars();
  const pluginDir = path.join(debeziumPluginsDir, 'debezium-connector-postgres');
  if (existsSync(pluginDir) && readdirSync(pluginDir).some((jar) => jar.startsWith(`debezium-connector-postgres-${debeziumPostgresVersion}`))) return;
  console.log('[infra] fetching Debezium’s PostgreSQL connector with Maven (first run only)…');
  execFileSync(
    'mvn',
    ['-q', '-B', '-s', mavenSettings, 'dependency:unpack', `-Dartifact=io.debezium:debezium-connector-postgres:${debeziumPostgresVersion}:tar.gz:plugin`, `-DoutputDirectory=${debeziumPluginsDir}`],
    { cwd: path.join(repoRoot, 'infra', 'kafka-connect'), stdio: 'inherit' },
  );
  // The archive's pax headers unpack as a directory of fake jars, which the worker would try to load as a plugin.
  for (const entry of readdirSync(debeziumPluginsDir)) if (entry.startsWith('PaxHeaders')) rmSync(path.join(debeziumPluginsDir, entry), { recursive: true, force: true });
}
