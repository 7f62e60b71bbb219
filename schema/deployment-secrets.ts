/**
 * When the processes may run on the secrets published in this repository: only against the local
 * services `infra/` starts (loopback Postgres of the current profile, loopback Kafka). Anything
 * else is a deployment, where a published key would let anyone decrypt the stored connection
 * strings and signing keys (STACK_SECRET_KEY) or create projects (STACK_INTERNAL_ADMIN_KEY).
 */

/** The development defaults of schema/env-config.ts. */
export const developmentSecretKey = 'local-development-secret-key-do-not-use-in-production';
export const developmentInternalAdminKey = 'local-development-internal-admin-key';

/** Every value of these two variables that has ever been published with the repository. */
export const publishedSecretValues: ReadonlySet<string> = new Set([
  developmentSecretKey,
  developmentInternalAdminKey,
  // docker-compose.yml's former placeholders.
  'change-me-to-at-least-32-random-characters',
  'change-me-internal-admin-key',
]);

const loopbackHosts = new Set(['127.0.0.1', 'localhost', '[::1]', '::1']);

function hostPort(value: string): { host: string; port: string } | undefined {
  const match = /^(.*):(\d+)$/.exec(value.trim());
  return match ? { host: match[1]!.toLowerCase(), port: match[2]! } : undefined;
}

function sameLoopbackEndpoint(a: { host: string; port: string } | undefined, b: { host: string; port: string } | undefined): boolean {
  return a !== undefined && b !== undefined && loopbackHosts.has(a.host) && loopbackHosts.has(b.host) && a.port === b.port;
}

/**
 * True when DATABASE_URL is the local internal cluster (loopback, its port and user; any database
 * on it, as tests use one each) and every Kafka broker is the local one.
 */
export function pointsAtLocalServices(
  config: { databaseUrl: string; kafkaBrokers: readonly string[] },
  local: { databaseUrl: string; kafkaBrokers: string },
): boolean {
  let database: URL;
  let localDatabase: URL;
  try {
    database = new URL(config.databaseUrl);
    localDatabase = new URL(local.databaseUrl);
  } catch {
    return false;
  }
  // pg reads host, hostaddr and port from the query too (they win over the URL's): a URL that
  // carries them points wherever they say, so it is never "local".
  const overridden = ['host', 'hostaddr', 'port', 'service'].some((name) => database.searchParams.has(name));
  const databaseIsLocal =
    !overridden &&
    sameLoopbackEndpoint({ host: database.hostname, port: database.port }, { host: localDatabase.hostname, port: localDatabase.port }) &&
    decodeURIComponent(database.username) === decodeURIComponent(localDatabase.username);
  const localBroker = hostPort(local.kafkaBrokers);
  const brokersAreLocal = config.kafkaBrokers.length > 0 && config.kafkaBrokers.every((broker) => sameLoopbackEndpoint(hostPort(broker), localBroker));
  return databaseIsLocal && brokersAreLocal;
}
