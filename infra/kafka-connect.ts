import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, openSync, readdirSync, rmSync } from 'node:fs';
import fs from 'node:fs/promises';
import net from 'node:net';
import path from 'node:path';
import { ensureDebianPackage } from './system-packages';
import { repoRoot } from './local-settings';
import { waitFor } from './wait-for';

/**
 * A Kafka Connect standalone worker with Debezium's JDBC sink, run from jars that Maven fetches
 * (like the broker, infra/kafka-broker.ts): what the teams that integrate through Kafka Connect
 * run against our topics, and what the tests of the schema'd event format run.
 */

const connectDir = path.join(repoRoot, 'infra', 'kafka-connect');
const libsDir = path.join(connectDir, 'target', 'libs');
const pluginsDir = path.join(connectDir, 'target', 'plugins');
const mavenSettings = path.join(connectDir, 'maven-settings.xml');

/** 3.6.1.Final of the JDBC sink is not on Maven Central; its plugin archive bundles the Postgres driver and Debezium's SMTs. */
export const debeziumJdbcSinkVersion = '3.6.0.Final';
const jdbcSinkPluginDir = path.join(pluginsDir, 'debezium-connector-jdbc');

/** Whether a JVM is at hand (`npm test` runs the Connect tests only then). */
export function hasJava(): boolean {
  try {
    execFileSync('java', ['-version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/** Fetches the Connect worker's jars and the JDBC sink plugin once; later calls find them cached. */
export function ensureConnectJars(): void {
  const hasRuntime = existsSync(libsDir) && readdirSync(libsDir).some((jar) => jar.startsWith('connect-runtime-'));
  const hasSink = existsSync(jdbcSinkPluginDir) && readdirSync(jdbcSinkPluginDir).some((jar) => jar.startsWith(`debezium-connector-jdbc-${debeziumJdbcSinkVersion}`));
  if (hasRuntime && hasSink) return;
  ensureDebianPackage('java', 'openjdk-17-jre-headless');
  ensureDebianPackage('mvn', 'maven');
  console.log('[infra] fetching Kafka Connect and Debezium’s JDBC sink with Maven (first run only)…');
  const maven = (args: string[]) => execFileSync('mvn', ['-q', '-B', '-s', mavenSettings, ...args], { cwd: connectDir, stdio: 'inherit' });
  if (!hasRuntime) maven(['dependency:copy-dependencies', `-DoutputDirectory=${libsDir}`, '-DincludeScope=runtime']);
  if (!hasSink) {
    maven(['dependency:unpack', `-Dartifact=io.debezium:debezium-connector-jdbc:${debeziumJdbcSinkVersion}:tar.gz:plugin`, `-DoutputDirectory=${pluginsDir}`]);
    // The archive's pax headers unpack as a directory of fake jars, which the worker would try to load as a plugin.
    for (const entry of readdirSync(pluginsDir)) if (entry.startsWith('PaxHeaders')) rmSync(path.join(pluginsDir, entry), { recursive: true, force: true });
  }
}

/** A free TCP port on loopback, for the worker's REST listener. */
async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port'))));
    });
  });
}

function properties(entries: Record<string, string>): string {
  return Object.entries(entries)
    .map(([key, value]) => `${key}=${value.replace(/\\/g, '\\\\')}`)
    .join('\n');
}

export interface ConnectStandaloneOptions {
  brokers: string[];
  /** Where the worker's properties, offsets file and log go. */
  workDir: string;
  /** Connector configurations, each with its `name`. */
  connectors: Record<string, string>[];
  /** More `plugin.path` directories (e.g. Debezium's PostgreSQL source, infra/debezium/). */
  extraPluginPaths?: string[];
  /** Worker properties over the defaults below. */
  workerProperties?: Record<string, string>;
  /** The JVM's -Xmx; default 768m. */
  maxHeap?: string;
  /** Called with the JVM's pid as soon as it is spawned (a benchmark samples its CPU from birth). */
  onSpawn?: (pid: number) => void;
}

interface ConnectorStatus {
  connector: { state: string };
  tasks: { id: number; state: string; trace?: string }[];
}

/** One standalone worker process. `stop()` (or disposal) ends it; nothing outlives the test that started it. */
export class ConnectStandalone {
  private constructor(
    private readonly child: ChildProcess,
    readonly restUrl: string,
    readonly logFile: string,
  ) {}

  static async start(options: ConnectStandaloneOptions): Promise<ConnectStandalone> {
    ensureConnectJars();
    await fs.mkdir(options.workDir, { recursive: true });
    const port = await freePort();
    const workerFile = path.join(options.workDir, 'worker.properties');
    await fs.writeFile(
      workerFile,
      properties({
        'bootstrap.servers': options.brokers.join(','),
        'listeners': `http://127.0.0.1:${port}`,
        'offset.storage.file.filename': path.join(options.workDir, 'connect.offsets'),
        'plugin.path': [pluginsDir, ...(options.extraPluginPaths ?? [])].join(','),
        // Scanning every plugin jar for classes took ~12 s of a ~20 s start; the plugins list theirs.
        'plugin.discovery': 'service_load',
        'key.converter': 'org.apache.kafka.connect.json.JsonConverter',
        'value.converter': 'org.apache.kafka.connect.json.JsonConverter',
        'key.converter.schemas.enable': 'true',
        'value.converter.schemas.enable': 'true',
        // Our topics are written in Kafka transactions: read only what was committed.
        'consumer.isolation.level': 'read_committed',
        'offset.flush.interval.ms': '1000',
        ...options.workerProperties,
      }),
    );
    const connectorFiles: string[] = [];
    for (const connector of options.connectors) {
      const file = path.join(options.workDir, `${connector.name}.properties`);
      await fs.writeFile(file, properties(connector));
      connectorFiles.push(file);
    }
    const logFile = path.join(options.workDir, 'connect.log');
    const log = openSync(logFile, 'a');
    const child = spawn(
      'java',
      [
        '-Xms128m',
        `-Xmx${options.maxHeap ?? '768m'}`,
        `-Dlog4j2.configurationFile=${path.join(connectDir, 'log4j2.xml')}`,
        '-cp',
        `${libsDir}/*`,
        'org.apache.kafka.connect.cli.ConnectStandalone',
        workerFile,
        ...connectorFiles,
      ],
      { stdio: ['ignore', log, log] },
    );
    if (child.pid !== undefined) options.onSpawn?.(child.pid);
    const worker = new ConnectStandalone(child, `http://127.0.0.1:${port}`, logFile);
    try {
      for (const connector of options.connectors) await worker.waitForRunning(connector.name!);
    } catch (error: unknown) {
      await worker.stop();
      throw new Error(`${error instanceof Error ? error.message : String(error)}\n${await worker.logTail()}`);
    }
    return worker;
  }

  /** The worker JVM's OS process id while it runs (for its CPU time and RSS in /proc). */
  get pid(): number | undefined {
    return this.child.exitCode === null ? this.child.pid : undefined;
  }

  async status(name: string): Promise<ConnectorStatus | undefined> {
    const response = await fetch(`${this.restUrl}/connectors/${encodeURIComponent(name)}/status`);
    return response.ok ? ((await response.json()) as ConnectorStatus) : undefined;
  }

  /** Until the connector and all its tasks run; a FAILED task fails at once with its trace. */
  async waitForRunning(name: string, timeoutMs = 120_000): Promise<void> {
    await waitFor(
      `connector ${name} to run`,
      async () => {
        if (this.child.exitCode !== null) throw new Error(`the Connect worker exited with ${this.child.exitCode}`);
        const status = await this.status(name);
        const failed = status?.tasks.find((task) => task.state === 'FAILED');
        if (failed) throw new Error(`connector ${name} task ${failed.id} FAILED: ${failed.trace ?? ''}`);
        return status?.connector.state === 'RUNNING' && status.tasks.length > 0 && status.tasks.every((task) => task.state === 'RUNNING');
      },
      { timeoutMs, intervalMs: 250 },
    );
  }

  /** Throws with the task's trace if a task of `name` failed (poll loops call it so a dead task ends the wait). */
  async assertNotFailed(name: string): Promise<void> {
    const status = await this.status(name);
    const failed = status?.tasks.find((task) => task.state === 'FAILED');
    if (failed) throw new Error(`connector ${name} task ${failed.id} FAILED: ${failed.trace ?? ''}`);
  }

  async logTail(lines = 40): Promise<string> {
    const text = await fs.readFile(this.logFile, 'utf8').catch(() => '');
    return text.split('\n').slice(-lines).join('\n');
  }

  async stop(): Promise<void> {
    const { child } = this;
    if (child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
    await exited;
    clearTimeout(timer);
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.stop();
  }
}
