import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import path from 'node:path';
import { repoRoot } from '../../infra/local-settings';
import type { EnvConfig } from '../../schema/env-config';

/**
 * One part of the system (`api`, `cdc`, `sink`) as its own OS process, the way it runs in production, so a
 * test can SIGKILL it at any instant. Runs node with tsx's loader directly (no wrapper process), so
 * the signal hits the process that holds the connections.
 */
export class PartProcess {
  #child: ChildProcess | undefined;
  output = '';

  constructor(
    private readonly part: 'all' | 'api' | 'cdc' | 'sink',
    private readonly config: EnvConfig,
    /** Postgres application_name of its connections, to tell processes apart in pg_stat_replication. */
    private readonly applicationName = `stack-sync-${part}`,
    /** Extra node options, e.g. a heap limit, as production would run the part. */
    private readonly nodeOptions: readonly string[] = [],
    /** Environment over the defaults below (e.g. STACK_SYNC_QUIET=0 for info lines), and how much output to keep. */
    private readonly extra: { env?: Record<string, string>; keepOutputChars?: number } = {},
  ) {}

  start(): void {
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      DATABASE_URL: this.config.DATABASE_URL,
      KAFKA_BROKERS: this.config.KAFKA_BROKERS.join(','),
      CDC_SLOT: this.config.CDC_SLOT,
      CDC_PUBLICATION: this.config.CDC_PUBLICATION,
      CDC_TOPIC_PREFIX: this.config.CDC_TOPIC_PREFIX,
      CDC_HEARTBEAT_INTERVAL_MS: String(this.config.CDC_HEARTBEAT_INTERVAL_MS),
      CDC_SNAPSHOT_CHUNK_ROWS: String(this.config.CDC_SNAPSHOT_CHUNK_ROWS),
      SINK_GROUP_PREFIX: this.config.SINK_GROUP_PREFIX,
      SINK_CONFIG_POLL_MS: String(this.config.SINK_CONFIG_POLL_MS),
      SINK_SESSION_TIMEOUT_MS: String(this.config.SINK_SESSION_TIMEOUT_MS),
      SINK_MAX_CONNECTIONS: String(this.config.SINK_MAX_CONNECTIONS),
      SINK_IDLE_CONNECTION_MS: String(this.config.SINK_IDLE_CONNECTION_MS),
      SINK_ALLOWED_TARGETS: this.config.SINK_ALLOWED_TARGETS,
      SINK_CONNECT_TIMEOUT_MS: String(this.config.SINK_CONNECT_TIMEOUT_MS),
      STACK_SECRET_KEY: this.config.STACK_SECRET_KEY,
      STACK_INTERNAL_ADMIN_KEY: this.config.STACK_INTERNAL_ADMIN_KEY,
      METRICS_PORT: '0',
      PGAPPNAME: this.applicationName,
      // Info lines too when the test run asks for them (diagnosing a failure), else warnings only.
      STACK_SYNC_QUIET: process.env.STACK_SYNC_PART_LOGS === 'info' ? '0' : '1',
      ...this.extra.env,
    };
    const child = spawn(process.execPath, [...this.nodeOptions, '--import', 'tsx', path.join(repoRoot, 'infra', 'main.ts'), this.part], { cwd: repoRoot, env, stdio: ['ignore', 'pipe', 'pipe'] });
    // Diagnosing a failure needs more than the tail kept in memory: the whole output, to a file.
    const logDir = process.env.STACK_SYNC_PART_LOG_DIR;
    const file = logDir === undefined ? undefined : createWriteStream(path.join(logDir, `${this.part}-${Date.now()}.log`));
    const keep = (chunk: Buffer) => {
      file?.write(chunk);
      this.output = (this.output + chunk.toString()).slice(-(this.extra.keepOutputChars ?? 20_000));
    };
    child.once('exit', () => file?.end());
    child.stdout?.on('data', keep);
    child.stderr?.on('data', keep);
    this.#child = child;
  }

  /** The exit code once the process ended by itself (null while it runs or after it was stopped). */
  get exitCode(): number | null {
    return this.#child?.exitCode ?? null;
  }

  /** Where its /health and /metrics listen: only when a METRICS_PORT was given in `extra.env` (else port 0, unknown). */
  get metricsUrl(): string | undefined {
    const port = this.extra.env?.METRICS_PORT;
    return port === undefined || port === '0' ? undefined : `http://127.0.0.1:${port}`;
  }

  /** The OS process id while it runs. */
  get pid(): number | undefined {
    return this.#child?.pid;
  }

  /** SIGKILL: no shutdown hooks, no flushing, connections cut mid-transaction. */
  kill(): Promise<void> {
    return this.#signal('SIGKILL');
  }

  stop(): Promise<void> {
    return this.#signal('SIGTERM');
  }

  async #signal(signal: NodeJS.Signals): Promise<void> {
    const child = this.#child;
    this.#child = undefined;
    if (!child || child.exitCode !== null) return;
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    child.kill(signal);
    // The process bounds its own shutdown; past that, a test must not hang on it.
    const escalate = setTimeout(() => child.kill('SIGKILL'), 30_000);
    await exited;
    clearTimeout(escalate);
  }
}
