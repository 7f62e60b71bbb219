import os from 'node:os';
import { ensureDebianPackage } from './system-packages';

/** Debian's Chromium: the browser the status page's end-to-end test drives with playwright-core. */
export const chromiumPath = '/usr/bin/chromium';

/**
 * Installs Debian's `chromium` when it is missing (apt, as root), and returns how to launch it:
 * playwright-core ships no browser of its own. Chromium's sandbox needs user namespaces that a
 * root process in a container does not get, so it is turned off only when running as root.
 */
export function ensureChromium(): { executablePath: string; args: string[] } {
  ensureDebianPackage('chromium', 'chromium');
  return { executablePath: chromiumPath, args: os.userInfo().uid === 0 ? ['--no-sandbox'] : [] };
}
