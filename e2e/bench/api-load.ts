import { randomBytes } from 'node:crypto';
import autocannon from 'autocannon';
import pg from 'pg';
import { Registry } from 'prom-client';
import { startApi } from '../../api/start-api';
import { startCdc } from '../../cdc/start-cdc';
import { describeLocalServices, upLocalServices } from '../../infra/local-services';
import { localSettings } from '../../infra/local-settings';
import { loadConfig } from '../../schema/env-config';
import { migrateInternalDatabase } from '../../schema/migrate';
import { startSink } from '../../sinks/start-sink';
import { expectConverged } from '../harness/oracle';
import { ownSecrets } from '../harness/test-services';
import { deleteTopicsWithPrefix } from '../harness/topic-cleanup';
import { adminQuery } from './bench-setup';

export interface ApiLoadOptions {
  durationSeconds: number;
  /** Concurrent HTTP connections of the load generator. */
  connections: number;
  /** scrypt cost of password hashes (production: 15); sign-ups are CPU-bound on it. */
  passwordHashLogN: number;
  /** Share of requests that are password sign-ups, profile updates; the rest read a user. */
  signUpShare: number;
  updateShare: number;
  /** How long to wait for the external database to equal the oracle afterwards, in ms. */
  convergeTimeoutMs: number;
}

export interface ApiLoadFigures {
  duration_s: number;
  connections: number;
  requests: number;
  requests_per_s: number;
  latency_p50_ms: number;
  latency_p99_ms: number;
  latency_max_ms: number;
  status_2xx: number;
  status_4xx: number;
  status_5xx: number;
  errors: number;
  timeouts: number;
  sign_ups_accepted: number;
  converged_after_ms: number;
  cpu_s: number;
  peak_rss_mb: number;
}

interface LoadProject {
  id: string;
  tenancyId: string;
  publishableClientKey: string;
  secretServerKey: string;
  superSecretAdminKey: string;
}

async function call(url: string, method: string, headers: Record<string, string>, body?: unknown): Promise<Record<string, unknown>> {
  const response = await fetch(url, { method, headers: { 'content-type': 'application/json', ...headers }, ...(body === undefined ? {} : { body: JSON.stringify(body) }) });
  const parsed = (await response.json()) as Record<string, unknown>;
  if (!response.ok) throw new Error(`${method} ${url}: ${response.status} ${JSON.stringify(parsed)}`);
  return parsed;
}

/**
 * Sign-ups, profile updates and reads against a real listening API server while the cdc reader and
 * the sink run in the same process (the `all` shape of `npm start`), driven by autocannon over
 * HTTP; afterwards the tenant's external database must equal the oracle. Fresh databases, slot and
 * topics on the test profile's services; everything is dropped at the end.
 */
export async function runApiLoad(options: ApiLoadOptions): Promise<{ figures: ApiLoadFigures; differences: string[] }> {
  process.env.STACK_SYNC_QUIET ??= '1';
  const services = describeLocalServices(localSettings({ ...process.env, STACK_SYNC_PROFILE: 'test' }));
  await upLocalServices(services);
  const name = `bench_${randomBytes(4).toString('hex')}`;
  const internalAdmin = services.env.DATABASE_URL!.replace(/\/stack$/, '/postgres');
  const externalAdmin = services.env.EXTERNAL_DATABASE_ADMIN_URL!;
  await adminQuery(internalAdmin, `CREATE DATABASE ${name}`);
  await adminQuery(externalAdmin, `CREATE DATABASE ${name}`);
  const internalUrl = internalAdmin.replace(/\/postgres$/, `/${name}`);
  const externalUrl = externalAdmin.replace(/\/postgres$/, `/${name}`);
  await migrateInternalDatabase(internalUrl);
  const config = loadConfig({
    ...services.env,
    // The test profile's services are not the development ones, so the published placeholder secrets are refused.
    ...ownSecrets(),
    DATABASE_URL: internalUrl,
    CDC_SLOT: name,
    CDC_TOPIC_PREFIX: `bench.${name}`,
    SINK_GROUP_PREFIX: `bench.${name}`,
    SINK_CONFIG_POLL_MS: '300',
    API_PORT: '0',
    PASSWORD_HASH_LOG_N: String(options.passwordHashLogN),
    // Every request comes from one loopback address: the per-address sign-in limit would turn the
    // load test into a rate-limit test.
    SIGN_IN_RATE_LIMIT_PER_IP: '100000000',
  });
  const internal = new pg.Pool({ connectionString: internalUrl, max: 2 });
  const cdc = await startCdc(config, new Registry());
  const sink = await startSink(config, new Registry());
  const api = await startApi(config);
  try {
    const base = `${api.url}/api/v1`;
    const created = await call(`${base}/internal/projects`, 'POST', { 'x-stack-internal-admin-key': config.STACK_INTERNAL_ADMIN_KEY }, { display_name: 'load' });
    const project: LoadProject = {
      id: String(created.id),
      tenancyId: String(created.tenancy_id),
      publishableClientKey: String(created.publishable_client_key),
      secretServerKey: String(created.secret_server_key),
      superSecretAdminKey: String(created.super_secret_admin_key),
    };
    const as = (accessType: 'client' | 'server' | 'admin'): Record<string, string> => ({
      'x-stack-project-id': project.id,
      'x-stack-access-type': accessType,
      ...(accessType === 'client' ? { 'x-stack-publishable-client-key': project.publishableClientKey } : {}),
      ...(accessType === 'server' ? { 'x-stack-secret-server-key': project.secretServerKey } : {}),
      ...(accessType === 'admin' ? { 'x-stack-super-secret-admin-key': project.superSecretAdminKey } : {}),
    });
    await call(`${base}/internal/config`, 'PATCH', as('admin'), { db_sync: { external_databases: { main: { type: 'postgres', connection_string: externalUrl } } } });
    // Users that updates and reads pick from.
    const userIds: string[] = [];
    for (let index = 0; index < 50; index++) userIds.push(String((await call(`${base}/users`, 'POST', as('server'), { display_name: `seed-${index}`, primary_email: `seed-${index}@load.example` })).id));

    let counter = 0;
    const pick = () => userIds[counter % userIds.length]!;
    const cpuBefore = process.cpuUsage();
    let peakRss = 0;
    const sampler = setInterval(() => (peakRss = Math.max(peakRss, process.memoryUsage().rss)), 200);
    const result = await autocannon({
      url: api.url,
      connections: options.connections,
      duration: options.durationSeconds,
      requests: [
        {
          setupRequest: (request) => {
            counter += 1;
            const draw = (counter * 7919) % 1000;
            const headers = { 'content-type': 'application/json' };
            if (draw < options.signUpShare * 1000) {
              return { ...request, method: 'POST', path: '/api/v1/auth/password/sign-up', headers: { ...headers, ...as('client') }, body: JSON.stringify({ email: `load-${name}-${counter}@load.example`, password: 'a load-test password' }) };
            }
            if (draw < (options.signUpShare + options.updateShare) * 1000) {
              return { ...request, method: 'PATCH', path: `/api/v1/users/${pick()}`, headers: { ...headers, ...as('server') }, body: JSON.stringify({ display_name: `renamed-${counter}` }) };
            }
            return { ...request, method: 'GET', path: `/api/v1/users/${pick()}`, headers: as('server') };
          },
        },
      ],
    });
    clearInterval(sampler);
    const cpu = process.cpuUsage(cpuBefore);

    const loadEnded = Date.now();
    let differences: string[] = [];
    try {
      await expectConverged(internal, project.tenancyId, externalUrl, options.convergeTimeoutMs);
    } catch (error: unknown) {
      differences = [error instanceof Error ? error.message : String(error)];
    }
    const convergedAfterMs = Date.now() - loadEnded;
    const signUps = await internal.query<{ n: number }>(`SELECT count(*)::int AS n FROM "ContactChannel" WHERE "tenancyId" = $1 AND value LIKE 'load-%'`, [project.tenancyId]);
    return {
      differences,
      figures: {
        duration_s: options.durationSeconds,
        connections: options.connections,
        requests: result.requests.total,
        requests_per_s: Math.round(result.requests.average),
        latency_p50_ms: result.latency.p50,
        latency_p99_ms: result.latency.p99,
        latency_max_ms: result.latency.max,
        status_2xx: result['2xx'],
        status_4xx: result['4xx'],
        status_5xx: result['5xx'],
        errors: result.errors,
        timeouts: result.timeouts,
        sign_ups_accepted: signUps.rows[0]?.n ?? 0,
        converged_after_ms: differences.length === 0 ? convergedAfterMs : -1,
        cpu_s: Math.round(((cpu.user + cpu.system) / 1e6) * 10) / 10,
        peak_rss_mb: Math.round(peakRss / 1024 / 1024),
      },
    };
  } finally {
    await api.stop();
    await sink.stop();
    await cdc.stop();
    await internal.query('SELECT pg_drop_replication_slot($1) FROM pg_replication_slots WHERE slot_name = $1', [name]).catch(() => undefined);
    await internal.end();
    await adminQuery(internalAdmin, `DROP DATABASE IF EXISTS ${name} WITH (FORCE)`).catch(() => undefined);
    await adminQuery(externalAdmin, `DROP DATABASE IF EXISTS ${name} WITH (FORCE)`).catch(() => undefined);
    await deleteTopicsWithPrefix(config.KAFKA_BROKERS, [`${config.CDC_TOPIC_PREFIX}.`]).catch(() => undefined);
  }
}
