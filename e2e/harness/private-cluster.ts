import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { connectionString, ensureCluster, ensureDatabase, stopCluster, type PostgresClusterSpec } from '../../infra/postgres-cluster';
import { unusedPort } from './private-broker';

/**
 * An internal Postgres of one test's own, for outages: stopping the shared test cluster would break
 * every other test running beside it. Same settings as the shared internal cluster.
 */
export class PrivateCluster {
  private constructor(
    readonly spec: PostgresClusterSpec,
    private readonly root: string,
  ) {}

  /** `settings` are added to (or override) the shared cluster's, e.g. `max_slot_wal_keep_size`. */
  static async create(settings: Record<string, string> = {}): Promise<PrivateCluster> {
    const root = await fs.mkdtemp(path.join(os.tmpdir(), 'stack-sync-pg-'));
    // The cluster may run as an unprivileged service user (when tests run as root): it must reach it.
    await fs.chmod(root, 0o755);
    return new PrivateCluster(
      {
        name: path.basename(root),
        dataDir: path.join(root, 'data'),
        port: await unusedPort(),
        user: 'stack',
        password: 'stack-sync-local',
        settings: { wal_level: 'logical', max_replication_slots: '8', max_wal_senders: '8', timezone: 'UTC', ...settings },
      },
      root,
    );
  }

  url(database = 'stack'): string {
    return connectionString(this.spec, database);
  }

  /** Starts it (initialising it the first time) with a `stack` database. */
  async start(): Promise<void> {
    await ensureCluster(this.spec);
    await ensureDatabase(this.url('postgres'), 'stack');
  }

  /** A crash as clients see it: connections cut, no checkpoint; the next start runs recovery. */
  crash(): Promise<boolean> {
    return stopCluster(this.spec, 'immediate');
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await stopCluster(this.spec, 'immediate').catch(() => undefined);
    await fs.rm(this.root, { recursive: true, force: true });
  }
}
