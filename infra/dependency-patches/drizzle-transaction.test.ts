import { sql } from 'drizzle-orm';
import { drizzle } from 'drizzle-orm/node-postgres';
import pg from 'pg';
import { describe, expect, it } from 'vitest';
import { testServices, withClient } from '../../e2e/harness/test-services';
import { survivePoolErrors } from '../runtime/pg-pool-errors';

/**
 * A pool of one connection whose next checkout comes with its connection already closed: BEGIN
 * fails on it, as it does when the database crashed or restarted between checkout and BEGIN.
 */
class PoolWithOneDeadCheckout extends pg.Pool {
  deadNext = false;
  override async connect(): Promise<pg.PoolClient>;
  override connect(callback: (error: Error | undefined, client: pg.PoolClient | undefined, done: (release?: unknown) => void) => void): void;
  override connect(callback?: (error: Error | undefined, client: pg.PoolClient | undefined, done: (release?: unknown) => void) => void): Promise<pg.PoolClient> | void {
    if (callback) return super.connect(callback);
    return (async () => {
      const client = await super.connect();
      if (this.deadNext) {
        this.deadNext = false;
        await client.end();
      }
      return client;
    })();
  }
}

describe('drizzle-orm patch: a transaction whose connection dies before BEGIN', () => {
  it('gives its pooled client back, so the next transaction gets a connection and the pool can end', { timeout: 30_000 }, async () => {
    const pool = survivePoolErrors(new PoolWithOneDeadCheckout({ connectionString: testServices().internalAdminUrl, max: 1, connectionTimeoutMillis: 3_000 })) as PoolWithOneDeadCheckout;
    const db = drizzle(pool);
    try {
      pool.deadNext = true;
      await expect(db.transaction(async (tx) => tx.execute(sql`SELECT 1`))).rejects.toThrow();
      // Unpatched, the one client stays checked out: this waits for a free connection and times out.
      const answer = await db.transaction(async (tx) => (await tx.execute<{ answer: number }>(sql`SELECT 42 AS answer`)).rows[0]?.answer);
      expect(answer).toBe(42);
      expect(pool.totalCount).toBe(1);
    } finally {
      let timer: NodeJS.Timeout | undefined;
      const stuck = new Promise((_, reject) => (timer = setTimeout(() => reject(new Error('the pool could not end: a client is still checked out')), 5_000)));
      await Promise.race([pool.end(), stuck]).finally(() => clearTimeout(timer));
    }
  });

  it('reports the transaction\'s own error when its ROLLBACK fails too (the connection died inside it)', async () => {
    // As the API's pool: a connection the server ends while checked out must not crash the process.
    const pool = survivePoolErrors(new pg.Pool({ connectionString: testServices().internalAdminUrl, max: 1 }));
    const db = drizzle(pool);
    try {
      let own: unknown;
      const failure = db.transaction(async (tx) => {
        const pid = (await tx.execute<{ pid: number }>(sql`SELECT pg_backend_pid() AS pid`)).rows[0]!.pid;
        await withClient(testServices().internalAdminUrl, (admin) => admin.query('SELECT pg_terminate_backend($1)', [pid]));
        try {
          await tx.execute(sql`SELECT pg_sleep(0.2)`);
        } catch (error: unknown) {
          own = error;
          throw error;
        }
      });
      // Unpatched, the caller got the ROLLBACK's error instead ("not queryable"), hiding the cause.
      const reported = await failure.then(
        () => undefined,
        (error: unknown) => error,
      );
      expect(own).toBeDefined();
      expect(reported).toBe(own);
      expect(await db.transaction(async (tx) => (await tx.execute<{ one: number }>(sql`SELECT 1 AS one`)).rows[0]?.one)).toBe(1);
    } finally {
      await pool.end();
    }
  });
});
