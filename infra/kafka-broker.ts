import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { existsSync, openSync, readdirSync } from 'node:fs';
import fs from 'node:fs/promises';
import net from 'node:net';
import path from 'node:path';
import { Kafka, logLevel } from 'kafkajs';
import { ensureDebianPackage } from './system-packages';
import { repoRoot } from './local-settings';
import { waitFor } from './wait-for';

/** A single-node Apache Kafka broker in KRaft mode, run from jars that Maven fetches. */
export interface KafkaBrokerSpec {
  dataDir: string;
  port: number;
  controllerPort: number;
}

const pomDir = path.join(repoRoot, 'infra', 'kafka');
const libsDir = path.join(pomDir, 'target', 'libs');

/** Fetches the broker's jars once (`mvn dependency:copy-dependencies`); later calls find them cached. */
export function ensureKafkaJars(): void {
  const hasBroker = existsSync(libsDir) && readdirSync(libsDir).some((jar) => jar.startsWith('kafka_2.13-'));
  if (hasBroker) return;
  ensureDebianPackage('java', 'openjdk-17-jre-headless');
  ensureDebianPackage('mvn', 'maven');
  console.log('[infra] fetching Apache Kafka jars with Maven (first run only)…');
  execFileSync('mvn', ['-q', '-B', 'dependency:copy-dependencies', `-DoutputDirectory=${libsDir}`, '-DincludeScope=runtime'], {
    cwd: pomDir,
    stdio: 'inherit',
  });
}

function serverProperties(spec: KafkaBrokerSpec): string {
  return [
    'process.roles=broker,controller',
    'node.id=1',
    `controller.quorum.voters=1@127.0.0.1:${spec.controllerPort}`,
    `listeners=PLAINTEXT://127.0.0.1:${spec.port},CONTROLLER://127.0.0.1:${spec.controllerPort}`,
    `advertised.listeners=PLAINTEXT://127.0.0.1:${spec.port}`,
    'controller.listener.names=CONTROLLER',
    'listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT',
    'inter.broker.listener.name=PLAINTEXT',
    `log.dirs=${path.join(spec.dataDir, 'logs')}`,
    'num.partitions=1',
    // One broker: the internal topics' default replication of 3 would make consumer groups and
    // transactions wait forever for replicas that do not exist.
    'offsets.topic.replication.factor=1',
    'transaction.state.log.replication.factor=1',
    'transaction.state.log.min.isr=1',
    'share.coordinator.state.topic.replication.factor=1',
    'share.coordinator.state.topic.min.isr=1',
    'group.initial.rebalance.delay.ms=0',
    // Lets tests run sinks with short sessions, so a SIGKILLed consumer is noticed in seconds.
    'group.min.session.timeout.ms=1000',
    // Tenant topics are created by the cdc reader with their compaction settings, never implicitly.
    'auto.create.topics.enable=false',
    'log.cleaner.enable=true',
  ].join('\n');
}

function pidFile(spec: KafkaBrokerSpec): string {
  return path.join(spec.dataDir, 'kafka.pid');
}

async function readPid(spec: KafkaBrokerSpec): Promise<number | undefined> {
  try {
    const pid = Number((await fs.readFile(pidFile(spec), 'utf8')).trim());
    process.kill(pid, 0);
    return pid;
  } catch {
    return undefined;
  }
}

export async function isBrokerRunning(spec: KafkaBrokerSpec): Promise<boolean> {
  return (await readPid(spec)) !== undefined;
}

function portAnswers(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host: '127.0.0.1', port });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

/** Ready means the broker answers metadata requests, not merely that its port is open. */
export async function waitForBroker(brokers: string[], timeoutMs = 90_000): Promise<void> {
  const kafka = new Kafka({ clientId: 'stack-sync-infra-probe', brokers, logLevel: logLevel.NOTHING, retry: { retries: 0 } });
  await waitFor(
    `Kafka broker at ${brokers.join(',')}`,
    async () => {
      const admin = kafka.admin();
      try {
        await admin.connect();
        const cluster = await admin.describeCluster();
        return cluster.brokers.length > 0 && cluster.controller !== null;
      } finally {
        await admin.disconnect().catch(() => undefined);
      }
    },
    { timeoutMs, intervalMs: 300 },
  );
}

/** Formats storage on first use and starts the broker unless it is already running. Idempotent. */
export async function ensureBroker(spec: KafkaBrokerSpec): Promise<void> {
  ensureKafkaJars();
  if (!(await isBrokerRunning(spec))) {
    if (await portAnswers(spec.port)) {
      throw new Error(`port ${spec.port} is taken by a process that infra/ did not start; stop it or pick another profile`);
    }
    await fs.mkdir(spec.dataDir, { recursive: true });
    const propertiesFile = path.join(spec.dataDir, 'server.properties');
    await fs.writeFile(propertiesFile, serverProperties(spec));
    const classpath = `${libsDir}/*`;
    if (!existsSync(path.join(spec.dataDir, 'logs', 'meta.properties'))) {
      const format = spawnSync(
        'java',
        ['-cp', classpath, 'kafka.tools.StorageTool', 'format', '-t', randomUUID(), '-c', propertiesFile, '--standalone'],
        { encoding: 'utf8' },
      );
      if (format.status !== 0) {
        // Older StorageTool versions have no --standalone; the static quorum voters above suffice there.
        const retry = spawnSync('java', ['-cp', classpath, 'kafka.tools.StorageTool', 'format', '-t', randomUUID(), '-c', propertiesFile], {
          encoding: 'utf8',
        });
        if (retry.status !== 0) throw new Error(`kafka storage format failed: ${format.stderr}\n${retry.stderr}`);
      }
    }
    const log = openSync(path.join(spec.dataDir, 'broker.log'), 'a');
    const broker = spawn(
      'java',
      ['-Xms256m', '-Xmx512m', `-Dlog4j2.configurationFile=${path.join(pomDir, 'log4j2.xml')}`, '-cp', classpath, 'kafka.Kafka', propertiesFile],
      { detached: true, stdio: ['ignore', log, log] },
    );
    broker.unref();
    await fs.writeFile(pidFile(spec), String(broker.pid));
  }
  await waitForBroker([`127.0.0.1:${spec.port}`]);
}

/** SIGTERM shuts down cleanly; SIGKILL is a crash (tests of broker outages). */
export async function stopBroker(spec: KafkaBrokerSpec, signal: 'SIGTERM' | 'SIGKILL' = 'SIGTERM'): Promise<boolean> {
  const pid = await readPid(spec);
  if (pid === undefined) return false;
  process.kill(pid, signal);
  await waitFor('the Kafka broker to exit', async () => {
    try {
      process.kill(pid, 0);
      return false;
    } catch {
      return true;
    }
  }, { timeoutMs: 60_000 });
  await fs.rm(pidFile(spec), { force: true });
  return true;
}
