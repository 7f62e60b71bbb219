import pg from 'pg';
import { Registry, collectDefaultMetrics } from 'prom-client';
import { startApi, type RunningApi } from '../api/start-api';
import { CdcHealthMonitor } from '../cdc/slot-health';
import { startCdc, type RunningCdc } from '../cdc/start-cdc';
import { loadConfig, type EnvConfig } from '../schema/env-config';
import { migrateInternalDatabase } from '../schema/migrate';
import { startSink, type RunningSink } from '../sinks/start-sink';
import { ensureDemoProject } from './demo-project';
import { describeLocalServices, upLocalServices } from './local-services';
import { localUrl } from './runtime/local-url';
import { serveMetrics } from './runtime/metrics-server';
import { errorMessage, UnrecoverableError } from './runtime/errors';
import { logger } from './runtime/log';
import path from 'node:path';

const log = logger('start');

type Part = 'all' | 'api' | 'cdc' | 'sink';

function partOf(argument: string | undefined): Part {
  if (argument === undefined) return 'all';
  if (argument === 'all' || argument === 'api' || argument === 'cdc' || argument === 'sink') return argument;
  throw new Error(`unknown part ${JSON.stringify(argument)}: expected all, api, cdc or sink`);
}

/** Without DATABASE_URL and KAFKA_BROKERS in the environment, the local services are the system's. */
function usesLocalServices(env: NodeJS.ProcessEnv): boolean {
  return env.DATABASE_URL === undefined && env.KAFKA_BROKERS === undefined;
}

async function main(part: Part): Promise<void> {
  const local = usesLocalServices(process.env);
  const services = describeLocalServices();
  if (local) {
    log.info('no DATABASE_URL / KAFKA_BROKERS set: starting the local services (npm run infra:up)');
    await upLocalServices(services);
  }
  const config: EnvConfig = loadConfig({ ...(local ? services.env : {}), ...process.env });
  await migrateInternalDatabase(config.DATABASE_URL);

  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  // The slot exists before the API takes writes, so nothing committed after start is missed.
  const cdcHealth = part === 'all' || part === 'cdc' ? new CdcHealthMonitor(healthPool(config.DATABASE_URL), config.CDC_SLOT) : undefined;
  const cdc: RunningCdc | undefined = cdcHealth ? await startCdcOrReport(config, registry, cdcHealth) : undefined;
  const sink: RunningSink | undefined = part === 'all' || part === 'sink' ? await startSink(config, registry) : undefined;
  const api: RunningApi | undefined =
    part === 'all' || part === 'api' ? await startApi(config) : undefined;
  const metricsServer = await serveMetrics(registry, { port: config.METRICS_PORT, hostname: config.LISTEN_HOST, token: config.METRICS_TOKEN }, async () => {
    const cdcReport = await cdcHealth?.report();
    return {
      status: cdcReport?.status ?? 'ok',
      part,
      ...(cdcReport ? { cdc: { reader: cdcReport.reader, slot: cdcReport.slot } } : {}),
      ...(sink ? { external_databases: sink.supervisor.statuses() } : {}),
    };
  });

  log.info('running', { runs: part, metrics: `${localUrl(config.LISTEN_HOST, config.METRICS_PORT)}/metrics`, metricsToken: config.METRICS_TOKEN !== undefined, ...(api ? { api: `${api.url}/api/v1` } : {}) });
  if (api && part === 'all' && local) {
    const demo = await ensureDemoProject(api.app, {
      dataDir: services.settings.dataDir,
      internalAdminKey: config.STACK_INTERNAL_ADMIN_KEY,
      externalAdminUrl: services.env.EXTERNAL_DATABASE_ADMIN_URL!,
    });
    const keysFile = path.join(services.settings.dataDir, 'demo-project.json');
    log.info('a ready-made project syncs its users to the local external database; its keys are in the data directory', { projectId: demo.id, keysFile });
    // Help for a person at a terminal, never in a log stream; keys are read from the file, not printed.
    if (process.stdout.isTTY) {
      const field = (name: string) => `$(node -p "require('${keysFile}').${name}")`;
      console.log(`
Try it:
  curl -s -X POST ${api.url}/api/v1/users \\
    -H 'content-type: application/json' \\
    -H 'x-stack-project-id: ${demo.id}' -H 'x-stack-access-type: server' \\
    -H "x-stack-secret-server-key: ${field('secret_server_key')}" \\
    -d '{"primary_email":"ada@example.com","display_name":"Ada"}'
  psql "${field('external_database_url')}" -c 'SELECT id, display_name, primary_email FROM users'
  STACK_PROJECT_ID=${demo.id} STACK_SUPER_SECRET_ADMIN_KEY="${field('super_secret_admin_key')}" npm run ops -- status
`);
    }
  }

  let stopping = false;
  const shutdown = async (signal: string): Promise<void> => {
    if (stopping) return;
    stopping = true;
    log.info('stopping', { signal });
    await api?.stop();
    await sink?.stop();
    await cdc?.stop();
    await new Promise<void>((resolve) => metricsServer.close(() => resolve()));
    process.exit(0);
  };
  process.on('SIGINT', () => void shutdown('SIGINT'));
  process.on('SIGTERM', () => void shutdown('SIGTERM'));
}

/** A small pool for /health's slot queries, apart from the reader's own connections. */
function healthPool(databaseUrl: string): pg.Pool {
  const pool = new pg.Pool({ connectionString: databaseUrl, max: 1, idleTimeoutMillis: 10_000 });
  pool.on('error', () => undefined);
  return pool;
}

/**
 * Starts the reader; when it cannot run (a schema mismatch, a slot of the wrong kind) or stops for such a
 * reason later, the process stays up and says so on /health (503) and in the metrics, instead of
 * exiting into a restart loop that would fail the same way: these need an operator.
 */
async function startCdcOrReport(config: EnvConfig, registry: Registry, health: CdcHealthMonitor): Promise<RunningCdc | undefined> {
  const report = (error: unknown): void => {
    log.error('cdc stopped', { error: errorMessage(error) });
    health.failed(error);
  };
  try {
    const cdc = await startCdc(config, registry);
    health.pausedWhen(() => cdc.reader.paused);
    cdc.reader.done.catch(report);
    return cdc;
  } catch (error: unknown) {
    if (!(error instanceof UnrecoverableError)) throw error;
    report(error);
    return undefined;
  }
}

main(partOf(process.argv[2])).catch((error: unknown) => {
  log.error('could not start', { error: errorMessage(error) });
  process.exit(1);
});
