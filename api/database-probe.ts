import { sql } from 'drizzle-orm';
import { setTimeout as delay } from 'node:timers/promises';
import type { Database } from './api-env';

/** How long the probe waits for `SELECT 1`, in ms: a database that takes longer is not serving. */
const probeTimeoutMs = 2_000;

/**
 * Whether the internal database answers now. A query cut by a crashing server fails with pg's
 * "Connection terminated" error, which carries no code to classify it by; asking the database
 * directly tells an outage from a bug without reading error messages.
 */
export async function internalDatabaseAnswers(db: Database): Promise<boolean> {
  const timeout = new AbortController();
  try {
    return await Promise.race([
      db.execute(sql`SELECT 1`).then(() => true),
      delay(probeTimeoutMs, false, { signal: timeout.signal }),
    ]);
  } catch {
    return false;
  } finally {
    timeout.abort();
  }
}
