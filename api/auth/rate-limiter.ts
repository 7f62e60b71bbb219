import { createHash } from 'node:crypto';
import type pg from 'pg';
import { getTableName } from 'drizzle-orm';
import { RateLimiterPostgres, RateLimiterRes } from 'rate-limiter-flexible';
import { rateLimitCounter } from '../../schema/auth-tables';

/** A limit: at most `limit` attempts per subject in a fixed window of `windowSeconds`. */
export interface RateLimitRule {
  /** Names the counter family, e.g. `sign-in-ip`. */
  name: string;
  limit: number;
  windowSeconds: number;
}

const table = getTableName(rateLimitCounter);

/**
 * Fixed-window counters in the internal database, so every API process counts against the same
 * limit: rate-limiter-flexible's Postgres store, one atomic `INSERT … ON CONFLICT … RETURNING` per
 * attempt. The table comes from the migrations (schema/auth-tables.ts), never created at runtime.
 */
export class RateLimiter {
  readonly #limiters = new Map<string, RateLimiterPostgres>();

  constructor(private readonly pool: pg.Pool) {}

  /**
   * Counts one attempt of `subject` (an address, an IP; stored only as a SHA-256) under `rule`.
   * Resolves to 0 while it is within the limit, else to the seconds until its window ends.
   */
  async consume(rule: RateLimitRule, subject: string): Promise<number> {
    try {
      await this.#limiterFor(rule).consume(createHash('sha256').update(subject).digest('hex'));
      return 0;
    } catch (rejection: unknown) {
      // The library rejects with its result object when the limit is exceeded, and with an Error
      // when the store failed; only the first is an answer.
      if (rejection instanceof RateLimiterRes) return Math.max(1, Math.ceil(rejection.msBeforeNext / 1000));
      throw rejection;
    }
  }

  /** Removes counters whose window ended more than an hour ago (old subjects never come back). */
  async deleteExpired(): Promise<void> {
    await this.pool.query(`DELETE FROM "${table}" WHERE expire < $1`, [Date.now() - 3_600_000]);
  }

  #limiterFor(rule: RateLimitRule): RateLimiterPostgres {
    const id = `${rule.name}/${rule.limit}/${rule.windowSeconds}`;
    let limiter = this.#limiters.get(id);
    if (!limiter) {
      limiter = new RateLimiterPostgres({
        storeClient: this.pool,
        storeType: 'pool',
        tableName: table,
        tableCreated: true,
        // Expired rows are deleted by deleteExpired(), on the API process's own schedule: the
        // library's timer would outlive the pool.
        clearExpiredByTimeout: false,
        keyPrefix: rule.name,
        points: rule.limit,
        duration: rule.windowSeconds,
      });
      this.#limiters.set(id, limiter);
    }
    return limiter;
  }
}
