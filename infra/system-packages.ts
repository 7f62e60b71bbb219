import { execFileSync, spawnSync } from 'node:child_process';
import os from 'node:os';

let aptUpdated = false;

function hasCommand(command: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${command}`], { stdio: 'ignore' }).status === 0;
}

/** Installs a Debian package when `command` is missing (needs root); a no-op when it is present. */
export function ensureDebianPackage(command: string, debianPackage: string): void {
  if (hasCommand(command)) return;
  if (os.userInfo().uid !== 0) {
    throw new Error(`'${command}' is missing: install the Debian package ${debianPackage} (needs root)`);
  }
  console.log(`[infra] installing ${debianPackage} for '${command}'…`);
  // Another install running (apt holds the dpkg lock) is waited for, not failed on.
  const waitForLock = ['-o', 'DPkg::Lock::Timeout=600'];
  if (!aptUpdated) {
    execFileSync('apt-get', [...waitForLock, 'update', '-q'], { stdio: 'inherit' });
    aptUpdated = true;
  }
  execFileSync('apt-get', [...waitForLock, 'install', '-y', '-q', debianPackage], { stdio: 'inherit', env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } });
}
