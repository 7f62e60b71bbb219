import { spawn } from 'node:child_process';
import { openSync } from 'node:fs';
import fs from 'node:fs/promises';
import path from 'node:path';
import { repoRoot } from './local-settings';
import { serviceUser } from './os-user';
import { ensureDebianPackage } from './system-packages';
import { waitFor } from './wait-for';
import { z } from 'zod';

/** The deployable monitoring files (docker-compose.yml mounts the same ones). */
export const monitoringDir = path.join(repoRoot, 'infra', 'monitoring');
export const alertRulesFile = path.join(monitoringDir, 'prometheus', 'alerts.yml');

/** One process Prometheus scrapes: its metrics address and which part of the system it runs. */
export interface ScrapeTarget {
  /** host:port of its METRICS_PORT. */
  address: string;
  part: 'all' | 'api' | 'cdc' | 'sink';
}

/** A Prometheus on loopback, run from Debian's package as an unprivileged user, data under `dataDir`. */
export interface PrometheusSpec {
  dataDir: string;
  port: number;
  /** Seconds between scrapes and rule evaluations: 5 locally, 1 in tests. */
  intervalSeconds: number;
  targets: readonly ScrapeTarget[];
  /** METRICS_TOKEN of the processes, when they require one. */
  metricsToken?: string;
}

/** Installs Debian's `prometheus` package (which brings `promtool`) when missing. */
export function ensurePrometheusInstalled(): void {
  ensureDebianPackage('prometheus', 'prometheus', { withoutService: 'prometheus' });
  ensureDebianPackage('promtool', 'prometheus', { withoutService: 'prometheus' });
}

/**
 * The same shape as infra/monitoring/prometheus/prometheus.yml (one `stack-sync` job, a `part`
 * label per target: the alerts select on both), pointing at processes on loopback. Written as
 * JSON, which is YAML too.
 */
export function prometheusConfig(spec: PrometheusSpec): Record<string, unknown> {
  const interval = `${spec.intervalSeconds}s`;
  return {
    global: { scrape_interval: interval, evaluation_interval: interval, scrape_timeout: interval },
    rule_files: ['alerts.yml'],
    scrape_configs: [
      {
        job_name: 'stack-sync',
        metrics_path: '/metrics',
        ...(spec.metricsToken !== undefined ? { authorization: { type: 'Bearer', credentials_file: 'metrics-token' } } : {}),
        static_configs: spec.targets.map((target) => ({ targets: [target.address], labels: { part: target.part } })),
      },
    ],
  };
}

const configName = 'prometheus.yml';

function pidFile(spec: PrometheusSpec): string {
  return path.join(spec.dataDir, 'prometheus.pid');
}

/** The pid in the pid file, if that process is alive and is the Prometheus of this data directory. */
async function readPid(spec: PrometheusSpec): Promise<number | undefined> {
  try {
    const pid = Number((await fs.readFile(pidFile(spec), 'utf8')).trim());
    if (!Number.isInteger(pid) || pid <= 1) return undefined;
    // A reused pid, or a pid file someone else wrote, must not get our signals.
    const commandLine = (await fs.readFile(`/proc/${pid}/cmdline`, 'utf8')).split('\0');
    if (!commandLine.some((argument) => argument === `--config.file=${path.join(spec.dataDir, configName)}`)) return undefined;
    return pid;
  } catch {
    return undefined;
  }
}

/**
 * The data directory stays root's (when run as root): config, rules, token and pid file are
 * written by root into a directory the unprivileged user cannot change, so it cannot plant a link
 * that root then writes through. Only `tsdb` is that user's.
 */
async function prepareDataDir(spec: PrometheusSpec): Promise<void> {
  await fs.mkdir(spec.dataDir, { recursive: true });
  for (const entry of [spec.dataDir, path.join(spec.dataDir, 'tsdb')]) {
    const found = await fs.lstat(entry).catch(() => undefined);
    if (found?.isSymbolicLink()) throw new Error(`${entry} is a symbolic link; refusing to use it for Prometheus`);
  }
  if (process.getuid?.() === 0) {
    await fs.chown(spec.dataDir, 0, 0);
    await fs.chmod(spec.dataDir, 0o755);
  }
  await fs.mkdir(path.join(spec.dataDir, 'tsdb'), { recursive: true });
  // Files a former layout left to the unprivileged user go; they are written afresh below.
  for (const name of [configName, 'alerts.yml', 'metrics-token', 'prometheus.pid']) {
    const found = await fs.lstat(path.join(spec.dataDir, name)).catch(() => undefined);
    if (found && (found.isSymbolicLink() || found.uid !== process.getuid?.())) await fs.rm(path.join(spec.dataDir, name), { force: true });
  }
}

export async function isPrometheusRunning(spec: PrometheusSpec): Promise<boolean> {
  return (await readPid(spec)) !== undefined;
}

export function prometheusUrl(spec: Pick<PrometheusSpec, 'port'>): string {
  return `http://127.0.0.1:${spec.port}`;
}

/** Writes the config, the alert rules and the token file into the data directory. */
export async function writePrometheusFiles(spec: PrometheusSpec): Promise<string> {
  await prepareDataDir(spec);
  const configFile = path.join(spec.dataDir, configName);
  await fs.writeFile(configFile, JSON.stringify(prometheusConfig(spec), null, 2), { mode: 0o644 });
  // A copy beside the config rather than a path into the checkout: the unprivileged user may not
  // be able to read the checkout. The content is alerts.yml byte for byte, copied at every start.
  await fs.copyFile(alertRulesFile, path.join(spec.dataDir, 'alerts.yml'));
  await fs.chmod(path.join(spec.dataDir, 'alerts.yml'), 0o644);
  const user = serviceUser();
  if (spec.metricsToken !== undefined) {
    const tokenFile = path.join(spec.dataDir, 'metrics-token');
    await fs.writeFile(tokenFile, spec.metricsToken, { mode: 0o640 });
    // Readable by the service user's group only, writable by nobody else.
    if (user) await fs.chown(tokenFile, 0, user.gid);
  }
  if (user) await fs.chown(path.join(spec.dataDir, 'tsdb'), user.uid, user.gid);
  return configFile;
}

/**
 * Starts Prometheus unless it is already running (then its config is rewritten and reloaded with
 * SIGHUP, so a changed target list applies). Idempotent; resolves once it answers `/-/ready`.
 */
export async function ensurePrometheus(spec: PrometheusSpec): Promise<void> {
  ensurePrometheusInstalled();
  const configFile = await writePrometheusFiles(spec);
  const running = await readPid(spec);
  if (running !== undefined) {
    process.kill(running, 'SIGHUP');
  } else {
    const user = serviceUser();
    const log = openSync(path.join(spec.dataDir, 'prometheus.log'), 'a');
    const child = spawn(
      'prometheus',
      [
        `--config.file=${configFile}`,
        `--storage.tsdb.path=${path.join(spec.dataDir, 'tsdb')}`,
        '--storage.tsdb.retention.time=7d',
        // Loopback only: the UI and API have no authentication, and the data names tenancies.
        `--web.listen-address=127.0.0.1:${spec.port}`,
      ],
      // Only PATH: the secrets in this process's environment are none of Prometheus's business.
      { detached: true, stdio: ['ignore', log, log], cwd: spec.dataDir, env: { PATH: process.env.PATH ?? '/usr/bin:/bin' }, ...(user ? { uid: user.uid, gid: user.gid } : {}) },
    );
    child.unref();
    if (child.pid === undefined) throw new Error('prometheus did not start (see prometheus.log in its data directory)');
    await fs.writeFile(pidFile(spec), String(child.pid), { mode: 0o644 });
  }
  // Ready, and ours: another Prometheus on the port (a system one) would answer /-/ready too.
  const flags = z.object({ data: z.object({ 'config.file': z.string() }) });
  await waitFor(
    `Prometheus at ${prometheusUrl(spec)}`,
    async () => {
      if ((await readPid(spec)) === undefined) throw new Error(`prometheus exited (see ${path.join(spec.dataDir, 'prometheus.log')})`);
      const answer = await fetch(`${prometheusUrl(spec)}/api/v1/status/flags`).catch(() => undefined);
      if (!answer?.ok) return false;
      const configFile = flags.parse(await answer.json()).data['config.file'];
      if (configFile !== path.join(spec.dataDir, configName)) throw new Error(`another Prometheus listens on ${prometheusUrl(spec)} (its config is ${configFile})`);
      return (await fetch(`${prometheusUrl(spec)}/-/ready`)).ok;
    },
    { timeoutMs: 60_000, intervalMs: 200 },
  );
}

export async function stopPrometheus(spec: PrometheusSpec): Promise<boolean> {
  const pid = await readPid(spec);
  if (pid === undefined) return false;
  process.kill(pid, 'SIGTERM');
  await waitFor(
    'Prometheus to exit',
    async () => {
      try {
        process.kill(pid, 0);
        return false;
      } catch {
        return true;
      }
    },
    { timeoutMs: 30_000 },
  );
  await fs.rm(pidFile(spec), { force: true });
  return true;
}
