import path from 'node:path';
import { ensureBroker, isBrokerRunning, stopBroker, type KafkaBrokerSpec } from './kafka-broker';
import { localServiceEnv, localSettings, type LocalSettings } from './local-settings';
import { isPrometheusRunning, stopPrometheus, type PrometheusSpec } from './prometheus';
import { ensureCluster, ensureDatabase, isClusterRunning, stopCluster, type PostgresClusterSpec } from './postgres-cluster';

/** The three local services: the internal Postgres, the external ("tenants'") Postgres and Kafka. */
export interface LocalServices {
  settings: LocalSettings;
  internal: PostgresClusterSpec;
  external: PostgresClusterSpec;
  kafka: KafkaBrokerSpec;
  /** Started only on request (`wantsLocalPrometheus`); scrapes `npm start`'s process by default. */
  prometheus: PrometheusSpec;
  env: Record<string, string>;
}

/** STACK_SYNC_PROMETHEUS=1: `npm start` and `npm run infra:up` also run a local Prometheus. */
export function wantsLocalPrometheus(env: NodeJS.ProcessEnv = process.env): boolean {
  return env.STACK_SYNC_PROMETHEUS === '1';
}

export function describeLocalServices(settings = localSettings()): LocalServices {
  const common = { user: settings.postgresUser, password: settings.postgresPassword };
  return {
    settings,
    internal: {
      ...common,
      name: 'internal',
      dataDir: path.join(settings.dataDir, 'postgres-internal'),
      port: settings.internalPostgresPort,
      // Logical decoding is what the cdc reader streams from; slots are per test, so allow many.
      settings: { wal_level: 'logical', max_replication_slots: '64', max_wal_senders: '64', max_connections: '300', timezone: 'UTC' },
    },
    external: {
      ...common,
      name: 'external',
      dataDir: path.join(settings.dataDir, 'postgres-external'),
      port: settings.externalPostgresPort,
      // track_commit_timestamp: the benchmarks read when the sink applied a row from its commit
      // timestamp (pg_xact_commit_timestamp), without a trigger in the path they measure.
      settings: { max_connections: '400', timezone: 'UTC', track_commit_timestamp: 'on' },
    },
    kafka: { dataDir: path.join(settings.dataDir, 'kafka'), port: settings.kafkaPort, controllerPort: settings.kafkaControllerPort },
    prometheus: {
      dataDir: path.join(settings.dataDir, 'prometheus'),
      port: settings.prometheusPort,
      intervalSeconds: 5,
      // `npm start` runs the three parts in one process on METRICS_PORT (default 9464).
      targets: [{ address: `127.0.0.1:${process.env.METRICS_PORT ?? '9464'}`, part: 'all' }],
      ...(process.env.METRICS_TOKEN !== undefined ? { metricsToken: process.env.METRICS_TOKEN } : {}),
    },
    env: localServiceEnv(settings),
  };
}

/** Starts whatever is not running yet. Running it again while everything is up changes nothing. */
export async function upLocalServices(services = describeLocalServices()): Promise<LocalServices> {
  await Promise.all([ensureCluster(services.internal), ensureCluster(services.external), ensureBroker(services.kafka)]);
  const internalAdmin = services.env.DATABASE_URL!.replace(/\/stack$/, '/postgres');
  await ensureDatabase(internalAdmin, 'stack');
  return services;
}

export async function downLocalServices(services = describeLocalServices()): Promise<string[]> {
  const stopped: string[] = [];
  if (await stopPrometheus(services.prometheus)) stopped.push('prometheus');
  if (await stopBroker(services.kafka)) stopped.push('kafka');
  if (await stopCluster(services.internal)) stopped.push('postgres-internal');
  if (await stopCluster(services.external)) stopped.push('postgres-external');
  return stopped;
}

export async function localServicesStatus(services = describeLocalServices()): Promise<Record<string, boolean>> {
  return {
    'postgres-internal': await isClusterRunning(services.internal),
    'postgres-external': await isClusterRunning(services.external),
    kafka: await isBrokerRunning(services.kafka),
    ...((await isPrometheusRunning(services.prometheus)) ? { prometheus: true } : {}),
  };
}
