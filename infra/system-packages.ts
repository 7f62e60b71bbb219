import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';

let aptUpdated = false;

function hasCommand(command: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${command}`], { stdio: 'ignore' }).status === 0;
}

export interface DebianInstallOptions {
  /**
   * A package that ships a system service (Debian's `prometheus`, which would listen on every
   * interface): installed without its recommended packages, its service kept from starting during
   * the install (a policy-rc.d, when none exists) and disabled afterwards, so only the instance
   * our scripts start runs.
   */
  withoutService?: string;
}

/** Installs a Debian package when `command` is missing (needs root); a no-op when it is present. */
export function ensureDebianPackage(command: string, debianPackage: string, options: DebianInstallOptions = {}): void {
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
  const install = () =>
    execFileSync('apt-get', [...waitForLock, 'install', '-y', '-q', ...(options.withoutService ? ['--no-install-recommends'] : []), debianPackage], {
      stdio: 'inherit',
      env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
    });
  if (!options.withoutService) {
    install();
    return;
  }
  // invoke-rc.d and deb-systemd-invoke ask policy-rc.d first; 101 means "do not start".
  const policy = '/usr/sbin/policy-rc.d';
  const ours = !existsSync(policy);
  if (ours) writeFileSync(policy, '#!/bin/sh\nexit 101\n', { mode: 0o755 });
  try {
    install();
  } finally {
    if (ours) rmSync(policy, { force: true });
  }
  if (existsSync('/run/systemd/system')) spawnSync('systemctl', ['disable', '--now', options.withoutService], { stdio: 'ignore' });
}
