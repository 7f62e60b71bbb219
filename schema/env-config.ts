import proxyaddr from 'proxy-addr';
import { z } from 'zod';
import { localServiceEnv, localSettings } from '../infra/local-settings';
import { eventFormatSchema } from './connect-event';
import { parseAllowedTargets } from '../sinks/target-address-policy';
import { developmentInternalAdminKey, developmentSecretKey, pointsAtLocalServices, publishedSecretValues } from './deployment-secrets';

const local = localServiceEnv(localSettings());

const port = z.coerce.number().int().min(0).max(65_535);

/**
 * Which proxies in front of the API may say who the client is (proxy-addr semantics, as Express's
 * `trust proxy`): `false` none; a hop count (`true` means 1); or a list of trusted addresses and
 * CIDRs (and proxy-addr's names loopback, linklocal, uniquelocal). The client is the first address,
 * from the socket backwards through X-Forwarded-For, that is not a trusted proxy: never an entry
 * the client wrote itself in front of what the proxies appended.
 */
export type TrustProxySetting = false | number | string[];

const trustProxy = z
  .string()
  .trim()
  .default('false')
  .transform((value, ctx): TrustProxySetting => {
    if (value === 'false' || value === '0' || value === '') return false;
    if (value === 'true') return 1;
    if (/^\d+$/.test(value)) return Number(value);
    const addresses = value.split(',').map((entry) => entry.trim()).filter((entry) => entry.length > 0);
    try {
      proxyaddr.compile(addresses);
    } catch (error: unknown) {
      ctx.addIssue({ code: 'custom', message: `expected false, a hop count or addresses/CIDRs (${error instanceof Error ? error.message : String(error)})` });
      return z.NEVER;
    }
    return addresses;
  });

/**
 * Every environment variable the processes read (DESIGN.md "Configuration"). Defaults point at the
 * services `npm run infra:up` starts on loopback; a deployment overrides them.
 */
export const envConfigSchema = z.object({
  /** Internal (source) Postgres; must run with wal_level=logical. */
  DATABASE_URL: z.url().default(local.DATABASE_URL!),
  /** Comma-separated host:port list. */
  KAFKA_BROKERS: z
    .string()
    .default(local.KAFKA_BROKERS!)
    .transform((value) => value.split(',').map((broker) => broker.trim()).filter((broker) => broker.length > 0))
    .pipe(z.array(z.string().regex(/^[^:\s]+:\d+$/, 'expected host:port')).min(1)),
  CDC_SLOT: z.string().regex(/^[a-z0-9_]{1,63}$/, 'lower-case letters, digits and _ (a Postgres slot name)').default('stack_sync'),
  CDC_PUBLICATION: z.string().regex(/^[a-z0-9_]{1,63}$/, 'lower-case letters, digits and _').default('stack_sync'),
  /**
   * How often the reader writes a heartbeat into the WAL (a logical decoding message), in ms. It
   * passes through the slot like any commit, so the slot's position moves on even when only
   * tables outside the publication are written, and their WAL is not retained. 0 turns it off.
   */
  /** Rows per snapshot chunk (read between two watermarks, published at once). */
  CDC_SNAPSHOT_CHUNK_ROWS: z.coerce.number().int().min(1).max(100_000).default(1_000),
  CDC_HEARTBEAT_INTERVAL_MS: z.coerce.number().int().min(0).default(10_000),
  /** Topics are `<prefix>.<tenancyId>`. */
  CDC_TOPIC_PREFIX: z.string().regex(/^[A-Za-z0-9._-]{1,200}$/, 'Kafka topic characters only').default('stack.cdc'),
  /**
   * How change events are written: `debezium-json` (schemaless envelope, the default) or
   * `debezium-json-schemas` (Kafka Connect JsonConverter `{schema, payload}` with Debezium's schema
   * names, for Connect sinks and SMTs). Fixed per topic prefix: the reader refuses to write a
   * prefix in another format than the one it was written in (README "Kafka Connect").
   */
  CDC_EVENT_FORMAT: eventFormatSchema.default('debezium-json'),
  /** Replication factor of newly created tenant topics: 1 on a single local broker, 3 in production. */
  KAFKA_TOPIC_REPLICATION_FACTOR: z.coerce.number().int().min(1).default(1),
  /**
   * How long a compacted tenant topic keeps a delete's tombstone, in ms (set on every tenant topic
   * it creates). A database that falls further behind than this cannot learn of every delete from
   * the topic: the sink then sweeps it against the source (see README "Deletes").
   */
  KAFKA_TOPIC_DELETE_RETENTION_MS: z.coerce.number().int().min(100).default(7 * 24 * 3_600_000),
  /** Consumer group of the sink processes: every sink process of one deployment joins `<prefix>.tenants`. */
  SINK_GROUP_PREFIX: z.string().regex(/^[A-Za-z0-9._-]{1,200}$/).default('stack-sync-sink'),
  /**
   * Kafka consumer session timeout of the sink, in ms: how long a crashed sink process holds its
   * databases' partitions before another incarnation can take them over.
   */
  SINK_SESSION_TIMEOUT_MS: z.coerce.number().int().min(1_000).max(300_000).default(10_000),
  /**
   * Connections to external databases one sink process may hold open at once, all databases
   * together; batches wait for a free one beyond that.
   */
  SINK_MAX_CONNECTIONS: z.coerce.number().int().min(1).max(10_000).default(50),
  /** An external database connection idle this long is closed, in ms. */
  SINK_IDLE_CONNECTION_MS: z.coerce.number().int().min(100).default(10_000),
  /**
   * Addresses the sink may connect to although they are not public: comma-separated `address`,
   * `address/prefix`, either with `:port` (`[v6]:port`). Tenants' databases must otherwise be on
   * public addresses; the internal database is refused whatever this says. Defaults to the local
   * external cluster while the local services are in use (DATABASE_URL unset), else to nothing.
   */
  SINK_ALLOWED_TARGETS: z
    .string()
    .default('')
    .superRefine((value, context) => {
      try {
        parseAllowedTargets(value);
      } catch (error: unknown) {
        context.addIssue({ code: 'custom', message: error instanceof Error ? error.message : String(error) });
      }
    }),
  /** A DNS lookup or connection attempt to an external database gives up after this long, in ms. */
  SINK_CONNECT_TIMEOUT_MS: z.coerce.number().int().min(100).max(60_000).default(5_000),
  /** How often the sink re-reads project configs for added or removed external databases, in ms. */
  SINK_CONFIG_POLL_MS: z.coerce.number().int().min(100).default(2_000),
  API_PORT: port.default(8102),
  METRICS_PORT: port.default(9464),
  /**
   * Address the API and metrics servers listen on. Loopback by default, so nothing is reachable
   * from other machines until a deployment says so (e.g. 0.0.0.0 in a container).
   */
  LISTEN_HOST: z.union([z.ipv4(), z.ipv6(), z.literal('localhost')]).default('127.0.0.1'),
  /**
   * Bearer token for `/metrics` and the detailed `/health` on METRICS_PORT (both name tenancies and
   * external databases). Unset, they are served only while the server listens on loopback.
   */
  METRICS_TOKEN: z.preprocess((value) => (value === '' ? undefined : value), z.string().min(16).optional()),
  /**
   * Encrypts stored secrets (external connection strings, signing keys); at least 32 characters.
   * Required, and never a published value, unless the local services are in use.
   */
  STACK_SECRET_KEY: z.string().min(32).default(developmentSecretKey),
  /** Public base URL of the API: access tokens' `iss` is `<STACK_API_URL>/api/v1/projects/<projectId>`. */
  STACK_API_URL: z.url().default('http://127.0.0.1:8102'),
  /** Where Apple publishes the keys of its id tokens. */
  APPLE_JWKS_URL: z.url().default('https://appleid.apple.com/auth/keys'),
  /** Lifetime of access tokens, in seconds. */
  ACCESS_TOKEN_TTL_SECONDS: z.coerce.number().int().min(30).max(86_400).default(600),
  /** Lifetime of refresh tokens, in days. */
  REFRESH_TOKEN_TTL_DAYS: z.coerce.number().int().min(1).max(365).default(30),
  /** log2 of scrypt's N for password hashes: 15 uses 32 MB and ~100 ms per hash. */
  PASSWORD_HASH_LOG_N: z.coerce.number().int().min(10).max(20).default(15),
  /** Failed sign-in attempts allowed per email, and per client IP, in SIGN_IN_RATE_WINDOW_SECONDS. */
  SIGN_IN_RATE_LIMIT_PER_EMAIL: z.coerce.number().int().min(1).default(5),
  SIGN_IN_RATE_LIMIT_PER_IP: z.coerce.number().int().min(1).default(30),
  SIGN_IN_RATE_WINDOW_SECONDS: z.coerce.number().int().min(1).default(600),
  /** Proxies trusted to report the client address in X-Forwarded-For (see TrustProxySetting). */
  TRUST_PROXY: trustProxy,
  /**
   * Credential for `POST /api/v1/internal/projects` (header x-stack-internal-admin-key). Required,
   * and never a published value, unless the local services are in use.
   */
  STACK_INTERNAL_ADMIN_KEY: z.string().min(16).default(developmentInternalAdminKey),
  /** The operator CLI (`npm run ops`): the project its project-scoped commands act on. */
  STACK_PROJECT_ID: z.string().min(1).optional(),
  /** The operator CLI: that project's super secret admin key. */
  STACK_SUPER_SECRET_ADMIN_KEY: z.string().min(1).optional(),
}).superRefine((config, ctx) => {
  if (pointsAtLocalServices({ databaseUrl: config.DATABASE_URL, kafkaBrokers: config.KAFKA_BROKERS }, { databaseUrl: local.DATABASE_URL!, kafkaBrokers: local.KAFKA_BROKERS! })) return;
  for (const name of ['STACK_SECRET_KEY', 'STACK_INTERNAL_ADMIN_KEY'] as const) {
    if (publishedSecretValues.has(config[name])) {
      ctx.addIssue({
        code: 'custom',
        path: [name],
        message: 'must be set to a secret of your own: DATABASE_URL / KAFKA_BROKERS are not the local development services, and this value is published in the repository',
      });
    }
  }
});

export type EnvConfig = z.infer<typeof envConfigSchema>;

export class ConfigError extends Error {
  readonly code = 'INVALID_CONFIGURATION';
}

/** Parses the environment once at start-up; a bad value stops the process with its name. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): EnvConfig {
  const usesLocalServices = env.DATABASE_URL === undefined;
  const withLocalDefaults = usesLocalServices && env.SINK_ALLOWED_TARGETS === undefined ? { ...env, SINK_ALLOWED_TARGETS: local.SINK_ALLOWED_TARGETS } : env;
  const parsed = envConfigSchema.safeParse(withLocalDefaults);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`);
    throw new ConfigError(`invalid configuration — ${problems.join('; ')}`);
  }
  return parsed.data;
}
