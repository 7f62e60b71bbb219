import { execFileSync } from 'node:child_process';
import os from 'node:os';

/** The uid/gid a server process runs as: Postgres refuses to run as root. */
export interface RunAs {
  uid: number;
  gid: number;
  name: string;
}

const serviceUserName = 'stacksync';

function idOf(name: string): RunAs | undefined {
  try {
    const uid = Number(execFileSync('id', ['-u', name], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim());
    const gid = Number(execFileSync('id', ['-g', name], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim());
    return { uid, gid, name };
  } catch {
    return undefined;
  }
}

/**
 * Under root, a dedicated unprivileged account (created once) owns the clusters; otherwise the
 * current user does and no switch is needed.
 */
export function serviceUser(): RunAs | undefined {
  if (os.userInfo().uid !== 0) return undefined;
  const existing = idOf(serviceUserName);
  if (existing) return existing;
  execFileSync('useradd', ['--system', '--no-create-home', '--shell', '/usr/sbin/nologin', serviceUserName]);
  const created = idOf(serviceUserName);
  if (!created) throw new Error(`could not create the OS user ${serviceUserName} to run Postgres as`);
  return created;
}

/** True when `user` can traverse to and read `target` (every parent directory must allow it). */
export function userCanRead(user: RunAs | undefined, target: string): boolean {
  if (!user) return true;
  try {
    execFileSync('runuser', ['-u', user.name, '--', 'test', '-r', target], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}
