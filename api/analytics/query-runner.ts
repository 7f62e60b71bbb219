import { performance } from 'node:perf_hooks';
import pg from 'pg';
import { sqlState } from '../../infra/runtime/errors';
import { analyticsLimits, boundedCursorSql, boundedRows, fetchSql, probeCursorSql, trimQueryText, type FetchedRow } from './query-limits';
import { survivePoolErrors } from '../../infra/runtime/pg-pool-errors';

/** A bound parameter: `$1`, `$2`, … in the query text; sent apart from it, never spliced in. */
export type AnalyticsParam = string | number | boolean | null;

export interface AnalyticsQueryRequest {
  tenancyId: string;
  query: string;
  params: readonly AnalyticsParam[];
  /** Whole budget of the query, waiting for a connection included, in ms. */
  timeoutMs: number;
}

export type AnalyticsOutcome =
  | { kind: 'rows'; rows: unknown[] }
  /** Postgres refused or failed the query; `message` is Postgres's own. */
  | { kind: 'query-error'; message: string; sqlState: string }
  | { kind: 'timeout'; timeoutMs: number }
  | { kind: 'too-many-rows'; maxRows: number }
  | { kind: 'too-many-bytes'; maxBytes: number };

export interface AnalyticsTiming {
  /** From the call to the last row parsed, waiting for a connection included, in ms. */
  wallClockMs: number;
  /**
   * Time the Postgres backend spent on the query's own statements (planning and executing the
   * cursor, fetching its rows), measured around each of them on a connection nothing else uses, in
   * ms. Postgres measures no CPU time per statement; this is what pg_stat_statements reports as
   * plan + execution time, and the closest figure to CPU time it has (time the backend waited for
   * I/O or locks is included).
   */
  cpuTimeMs: number;
}

/** The role the query text runs as, and what it may read: migration 0007. */
const queryRole = 'stack_analytics_query';
/** Lock waits end long before the statement budget: the events table is only ever appended to. */
const lockTimeoutMs = 1_000;

class QueryFailure extends Error {
  constructor(readonly outcome: Exclude<AnalyticsOutcome, { kind: 'rows' }>) {
    super(outcome.kind);
  }
}

/**
 * Runs admins' SQL over their own project's events, on a pool of its own (analytics never takes the
 * API's connections), one connection per query for the query's whole life.
 *
 * Isolation (README "Analytics"): a read-only transaction; the tenancy and limits are set while the
 * connection is still the API's role, then `SET LOCAL ROLE stack_analytics_query`, a role that can
 * read only the view analytics.events (filtered by that tenancy) and cannot change settings
 * (set_config is revoked from PUBLIC; SET needs a statement of its own, and the query text is only
 * ever the body of one cursor, sent with the extended protocol, which refuses a second statement).
 * ROLLBACK ends it all: no setting, cursor or lock survives into the next use of the connection.
 */
export class AnalyticsQueryRunner {
  #pool: pg.Pool | undefined;

  constructor(
    private readonly databaseUrl: string,
    /** Queries running at once; more wait for a connection within their own timeout. */
    private readonly maxConnections = 4,
  ) {}

  get pool(): pg.Pool {
    // Created on first use: most API processes and tests never run a query.
    if (this.#pool) return this.#pool;
    this.#pool = new pg.Pool({
      connectionString: this.databaseUrl,
      max: this.maxConnections,
      idleTimeoutMillis: 10_000,
      allowExitOnIdle: true,
      application_name: 'stack-sync-analytics',
      // Timestamps print in UTC; the query role cannot change it.
      options: '-c TimeZone=UTC',
    });
    survivePoolErrors(this.#pool);
    return this.#pool;
  }

  /** Queries running now, per tenancy. */
  readonly #running = new Map<string, number>();

  /**
   * Takes one of the tenancy's turns (at most `maxPerTenancy` queries at once), or undefined when
   * it has none: one project's slow queries must not hold every connection of the pool.
   * The returned function gives the turn back.
   */
  admit(tenancyId: string, maxPerTenancy = 1): (() => void) | undefined {
    const running = this.#running.get(tenancyId) ?? 0;
    if (running >= maxPerTenancy) return undefined;
    this.#running.set(tenancyId, running + 1);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const left = (this.#running.get(tenancyId) ?? 1) - 1;
      if (left <= 0) this.#running.delete(tenancyId);
      else this.#running.set(tenancyId, left);
    };
  }

  async run(request: AnalyticsQueryRequest): Promise<{ outcome: AnalyticsOutcome; timing: AnalyticsTiming; rowCount: number }> {
    const started = performance.now();
    const deadline = started + request.timeoutMs;
    let cpuTimeMs = 0;
    const finish = (outcome: AnalyticsOutcome) => ({
      outcome,
      timing: { wallClockMs: performance.now() - started, cpuTimeMs },
      rowCount: outcome.kind === 'rows' ? outcome.rows.length : 0,
    });

    const client = await this.#acquire(deadline);
    if (!client) return finish({ kind: 'timeout', timeoutMs: request.timeoutMs });
    let broken: unknown;
    try {
      const query = trimQueryText(request.query);
      const params = [...request.params];
      const remainingMs = () => Math.max(1, Math.ceil(deadline - performance.now()));
      /** One of the query's own statements: timed, and its failure is the query's failure. */
      const queryStatement = async <Row extends pg.QueryResultRow>(text: string, values: AnalyticsParam[] = params): Promise<Row[]> => {
        await client.query(`SET LOCAL statement_timeout = ${remainingMs()}`);
        const before = performance.now();
        try {
          // Extended protocol even without parameters: Postgres then refuses a second statement.
          const config: pg.QueryConfig & { queryMode: 'extended' } = { text, values, queryMode: 'extended' };
          return (await client.query<Row>(config)).rows;
        } catch (error: unknown) {
          const state = sqlState(error);
          if (state === undefined) throw error;
          // 57014: statement_timeout cancelled it (the only cancel this connection gets).
          if (state === '57014') throw new QueryFailure({ kind: 'timeout', timeoutMs: request.timeoutMs });
          throw new QueryFailure({ kind: 'query-error', message: error instanceof Error ? error.message : String(error), sqlState: state });
        } finally {
          cpuTimeMs += performance.now() - before;
        }
      };

      await client.query('BEGIN READ ONLY');
      await client.query(
        `SELECT set_config('stack_analytics.tenancy_id', $1, true), set_config('search_path', 'analytics', true),
                set_config('lock_timeout', $2, true), set_config('idle_in_transaction_session_timeout', $3, true),
                -- Sorts and hashes spill to disk beyond this instead of growing in memory.
                set_config('work_mem', '16MB', true)`,
        [request.tenancyId, String(lockTimeoutMs), String(request.timeoutMs + 5_000)],
      );
      await client.query(`SET LOCAL ROLE ${queryRole}`);
      try {
        await queryStatement(probeCursorSql('analytics_probe', query));
        await client.query('CLOSE analytics_probe');
        await queryStatement(boundedCursorSql('analytics_rows', query, analyticsLimits.maxBytes));
        const fetched = await queryStatement<FetchedRow & pg.QueryResultRow>(fetchSql('analytics_rows', analyticsLimits.maxRows), []);
        return finish(boundedRows(fetched, analyticsLimits));
      } catch (error: unknown) {
        if (error instanceof QueryFailure) return finish(error.outcome);
        throw error;
      }
    } catch (error: unknown) {
      broken = error;
      throw error;
    } finally {
      // A connection whose state is unknown is closed rather than handed to the next query.
      const rolledBack = broken === undefined && (await client.query('ROLLBACK').then(() => true, () => false));
      client.release(rolledBack ? undefined : true);
    }
  }

  /** A connection before `deadline`, or undefined (the query's time ran out waiting). */
  async #acquire(deadline: number): Promise<pg.PoolClient | undefined> {
    const pending = this.pool.connect();
    let timer: NodeJS.Timeout | undefined;
    const expired = new Promise<undefined>((resolve) => {
      timer = setTimeout(() => resolve(undefined), Math.max(0, deadline - performance.now()));
    });
    const winner = await Promise.race([pending, expired]).finally(() => clearTimeout(timer));
    if (winner === undefined) pending.then((late) => late.release(), () => undefined);
    return winner;
  }

  async close(): Promise<void> {
    await this.#pool?.end();
    this.#pool = undefined;
  }
}
