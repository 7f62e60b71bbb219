import type { ServerType } from '@hono/node-server';
import pg from 'pg';
import { Registry, collectDefaultMetrics } from 'prom-client';
import { startApi, type RunningApi } from '../api/start-api';
import { registerReaderStateMetric } from '../cdc/reader-state-metric';
import { CdcHealthMonitor } from '../cdc/slot-health';
import { startCdc, type RunningCdc } from '../cdc/start-cdc';
import { loadConfig, type EnvConfig } from '../schema/env-config';
import { migrateInternalDatabase } from '../schema/migrate';
import { startSink, type RunningSink } from '../sinks/start-sink';
import { ensureDemoProject } from './demo-project';
import { describeLocalServices, upLocalServices, wantsLocalPrometheus } from './local-services';
import { ensurePrometheus, prometheusUrl } from './prometheus';
import { localUrl } from './runtime/local-url';
import { serveMetrics } from './runtime/metrics-server';
import { errorMessage, UnrecoverableError } from './runtime/errors';
import { KafkaProbe } from './runtime/kafka-probe';
import { logger } from './runtime/log';
import { StartupProgress, untilStarted } from './runtime/startup';
import path from 'node:path';
import { survivePoolErrors } from './runtime/pg-pool-errors';

const log = logger('start');

/** Longest a graceful shutdown may take before the process exits anyway, in ms. */
const shutdownWithinMs = 15_000;

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

  // Each part registers its metrics in a registry of its own, kept only once the part started: an
  // attempt that failed (the broker still down) leaves nothing registered, so the next can register.
  const processRegistry = new Registry();
  collectDefaultMetrics({ register: processRegistry });
  const registries: Registry[] = [processRegistry];
  const metrics = { contentType: processRegistry.contentType, metrics: () => Registry.merge(registries).metrics() };

  const startup = new StartupProgress();
  const kafkaProbe = part === 'api' ? undefined : new KafkaProbe(config.KAFKA_BROKERS, `stack-sync-health-${part}`);
  const stopping = new AbortController();
  let cdcHealth: CdcHealthMonitor | undefined;
  let cdc: RunningCdc | undefined;
  let sink: RunningSink | undefined;
  let api: RunningApi | undefined;

  // /health answers from the first moment: `starting` (503, not ready) while Postgres or Kafka are
  // waited for, so an orchestrator sees a process that waits rather than one that died.
  const metricsServer = await serveMetrics(metrics, { port: config.METRICS_PORT, hostname: config.LISTEN_HOST, token: config.METRICS_TOKEN }, async () => {
    const progress = startup.report;
    if (progress.state !== 'running') return { status: progress.state, part, startup: progress };
    const [cdcReport, kafka] = await Promise.all([cdcHealth?.report(), kafkaProbe?.check()]);
    const status = cdcReport?.status ?? 'ok';
    return {
      // The broker away: the parts wait and retry by themselves (degraded); failing stays failing.
      status: kafka?.reachable === false && status === 'ok' ? 'degraded' : status,
      part,
      ...(kafka ? { kafka } : {}),
      ...(cdcReport ? { cdc: { reader: cdcReport.reader, slot: cdcReport.slot } } : {}),
      ...(sink ? { external_databases: sink.supervisor.statuses() } : {}),
    };
  });
  const metricsUrl = localUrl(config.LISTEN_HOST, boundPort(metricsServer, config.METRICS_PORT));
  log.info('serving /health and /metrics', { runs: part, metrics: `${metricsUrl}/metrics`, metricsToken: config.METRICS_TOKEN !== undefined });
  if (local && wantsLocalPrometheus(process.env)) {
    // Scrapes this very process (whatever METRICS_PORT it bound), with the repository's alert rules.
    const prometheus = {
      ...services.prometheus,
      targets: [{ address: `127.0.0.1:${boundPort(metricsServer, config.METRICS_PORT)}`, part }],
      ...(config.METRICS_TOKEN !== undefined ? { metricsToken: config.METRICS_TOKEN } : {}),
    };
    await ensurePrometheus(prometheus);
    log.info('local Prometheus scrapes this process', { prometheus: prometheusUrl(prometheus), dataDir: prometheus.dataDir });
  }

  const shutdown = async (signal: string): Promise<void> => {
    if (stopping.signal.aborted) return;
    stopping.abort();
    log.info('stopping', { signal });
    // A part whose shutdown hangs (a Kafka client waiting on a broker that is gone) must not keep
    // the process alive: what was not committed is done again by the next process anyway.
    setTimeout(() => {
      log.error('shutdown took too long; exiting', { signal, afterMs: shutdownWithinMs });
      process.exit(1);
    }, shutdownWithinMs).unref();
    await api?.stop();
    await sink?.stop();
    await cdc?.stop();
    await new Promise<void>((resolve) => metricsServer.close(() => resolve()));
    process.exit(0);
  };
  process.on('SIGINT', () => void shutdown('SIGINT'));
  process.on('SIGTERM', () => void shutdown('SIGTERM'));

  try {
    await untilStarted('the internal database (migrations)', () => migrateInternalDatabase(config.DATABASE_URL), startup, stopping.signal);
    // The slot exists before the API takes writes, so nothing committed after start is missed.
    if (part === 'all' || part === 'cdc') {
      const monitor = new CdcHealthMonitor(healthPool(config.DATABASE_URL), config.CDC_SLOT);
      cdcHealth = monitor;
      registerReaderStateMetric(processRegistry, config.CDC_SLOT, () => monitor.readerState());
      cdc = await startCdcOrReport(config, registries, cdcHealth, startup, stopping.signal);
    }
    if (part === 'all' || part === 'sink') {
      sink = await untilStarted('Kafka and the internal database (sink)', () => withRegistry(registries, (registry) => startSink(config, registry)), startup, stopping.signal);
    }
    if (part === 'all' || part === 'api') api = await startApi(config);
  } catch (error: unknown) {
    if (stopping.signal.aborted) return;
    throw error;
  }
  startup.running();

  log.info('running', { runs: part, metrics: `${metricsUrl}/metrics`, metricsToken: config.METRICS_TOKEN !== undefined, ...(api ? { api: `${api.url}/api/v1`, statusPage: `${api.url}/dashboard` } : {}) });
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
  # the status page: open ${api.url}/dashboard, sign in with project id ${demo.id} and the key this prints
  node -p "require('${keysFile}').super_secret_admin_key"
`);
    }
  }
}

/** A small pool for /health's slot queries, apart from the reader's own connections. */
function healthPool(databaseUrl: string): pg.Pool {
  return survivePoolErrors(new pg.Pool({ connectionString: databaseUrl, max: 1, idleTimeoutMillis: 10_000 }));
}

/** Runs `start` with a registry of its own, kept (added to `registries`) only if it succeeds. */
async function withRegistry<T>(registries: Registry[], start: (registry: Registry) => Promise<T>): Promise<T> {
  const registry = new Registry();
  const started = await start(registry);
  registries.push(registry);
  return started;
}

function boundPort(server: ServerType, configured: number): number {
  const address = server.address();
  return typeof address === 'object' && address !== null ? address.port : configured;
}

/**
 * Starts the reader, waiting for Postgres and Kafka while they are unreachable; when it cannot run
 * (a schema mismatch, a slot of the wrong kind) or stops for such a reason later, the process stays
 * up and says so on /health (503) and in the metrics, instead of exiting into a restart loop that
 * would fail the same way: these need an operator.
 */
async function startCdcOrReport(config: EnvConfig, registries: Registry[], health: CdcHealthMonitor, startup: StartupProgress, signal: AbortSignal): Promise<RunningCdc | undefined> {
  const report = (error: unknown): void => {
    log.error('cdc stopped', { error: errorMessage(error) });
    health.failed(error);
  };
  // The slot gauges must keep reporting after an unrecoverable start (when something is wrong is
  // when they matter): that attempt's registry is kept too.
  let registry = new Registry();
  try {
    const attempt = (): Promise<RunningCdc> => {
      registry = new Registry();
      return startCdc(config, registry);
    };
    const cdc = await untilStarted('Kafka and the replication slot (cdc)', attempt, startup, signal);
    registries.push(registry);
    health.pausedWhen(() => cdc.reader.paused);
    cdc.reader.done.catch(report);
    return cdc;
  } catch (error: unknown) {
    if (!(error instanceof UnrecoverableError)) throw error;
    registries.push(registry);
    report(error);
    return undefined;
  }
}

main(partOf(process.argv[2])).catch((error: unknown) => {
  log.error('could not start', { error: errorMessage(error) });
  process.exit(1);
});
