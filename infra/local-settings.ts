import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';

/** Repository root: infra/ lives directly below it. */
export const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

/**
 * Where the local services listen and keep their data. A profile keeps the test suite's services
 * apart from a developer's running system: `dev` (the default) and `test` use different ports and
 * data directories, so `npm test` never touches the clusters `npm start` uses.
 */
const localSettingsSchema = z.object({
  STACK_SYNC_PROFILE: z.enum(['dev', 'test']).default('dev'),
  /** Root of the git-ignored directory holding clusters, broker logs and pid files. */
  STACK_SYNC_DATA_DIR: z.string().min(1).optional(),
  /**
   * Added to every port of the profile, so two checkouts on one machine can each run their own
   * services (each with its own STACK_SYNC_DATA_DIR) without sharing test databases or topics.
   */
  STACK_SYNC_PORT_OFFSET: z.coerce
    .number()
    .int()
    .min(0)
    .max(10_000)
    // The profiles' own ports are 1, 10 and 100 apart (broker/controller, internal/external,
    // dev/test): only whole thousands move a checkout clear of every other one.
    .refine((offset) => offset % 1_000 === 0, 'a multiple of 1000 (the profiles use ports 1, 10 and 100 apart)')
    .default(0),
});

export interface LocalSettings {
  profile: 'dev' | 'test';
  dataDir: string;
  internalPostgresPort: number;
  externalPostgresPort: number;
  kafkaPort: number;
  kafkaControllerPort: number;
  /** The local Prometheus (opt-in: STACK_SYNC_PROMETHEUS=1). */
  prometheusPort: number;
  postgresUser: string;
  postgresPassword: string;
}

const portsByProfile = {
  dev: { internalPostgresPort: 54320, externalPostgresPort: 54330, kafkaPort: 19092, kafkaControllerPort: 19093, prometheusPort: 9090 },
  test: { internalPostgresPort: 54420, externalPostgresPort: 54430, kafkaPort: 19192, kafkaControllerPort: 19193, prometheusPort: 9190 },
} as const;

export function localSettings(env: NodeJS.ProcessEnv = process.env): LocalSettings {
  const parsed = localSettingsSchema.parse(env);
  const profile = parsed.STACK_SYNC_PROFILE;
  const ports = portsByProfile[profile];
  const offset = parsed.STACK_SYNC_PORT_OFFSET;
  return {
    profile,
    dataDir: path.resolve(parsed.STACK_SYNC_DATA_DIR ?? path.join(repoRoot, '.data', profile)),
    internalPostgresPort: ports.internalPostgresPort + offset,
    externalPostgresPort: ports.externalPostgresPort + offset,
    kafkaPort: ports.kafkaPort + offset,
    kafkaControllerPort: ports.kafkaControllerPort + offset,
    prometheusPort: ports.prometheusPort + offset,
    // Loopback-only clusters for development; real deployments set DATABASE_URL themselves.
    postgresUser: 'stack',
    postgresPassword: 'stack-sync-local',
  };
}

/** The environment variables (DESIGN.md "Configuration") that point the processes at these services. */
export function localServiceEnv(settings: LocalSettings): Record<string, string> {
  const auth = `${settings.postgresUser}:${settings.postgresPassword}`;
  return {
    DATABASE_URL: `postgres://${auth}@127.0.0.1:${settings.internalPostgresPort}/stack`,
    EXTERNAL_DATABASE_ADMIN_URL: `postgres://${auth}@127.0.0.1:${settings.externalPostgresPort}/postgres`,
    KAFKA_BROKERS: `127.0.0.1:${settings.kafkaPort}`,
    // The local external cluster is on loopback, which the sink refuses unless allowed.
    SINK_ALLOWED_TARGETS: `127.0.0.1:${settings.externalPostgresPort}`,
  };
}
