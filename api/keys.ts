import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';

/** The three API keys of a project, in clear: shown once, at creation. */
export interface ProjectKeys {
  publishableClientKey: string;
  secretServerKey: string;
  superSecretAdminKey: string;
}

function newKey(prefix: string): string {
  return `${prefix}_${randomBytes(32).toString('base64url')}`;
}

export function generateProjectKeys(): ProjectKeys {
  return { publishableClientKey: newKey('pck'), secretServerKey: newKey('ssk'), superSecretAdminKey: newKey('sak') };
}

/**
 * Keys are 256-bit random strings, not passwords: a fast hash is enough to make a leaked table
 * useless, and lets every request check its key without a costly KDF.
 */
export function hashKey(key: string): string {
  return createHash('sha256').update(key).digest('hex');
}

export function keyMatches(presented: string | undefined, storedHash: string): boolean {
  if (!presented) return false;
  const presentedHash = Buffer.from(hashKey(presented), 'hex');
  const expected = Buffer.from(storedHash, 'hex');
  return presentedHash.length === expected.length && timingSafeEqual(presentedHash, expected);
}
