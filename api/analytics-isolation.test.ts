import pg from 'pg';
import { describe, expect, it } from 'vitest';
import { PipelineContext, type TestProject } from '../e2e/harness/pipeline-context';
import { waitFor } from '../infra/wait-for';

/**
 * The analytics query of issue 14 runs SQL an admin wrote, in the database that holds every
 * project. Whatever the text does, it must see its own project's events only, change nothing, and
 * leave its connection as it found it. Each query below is an attack seen in multi-tenant SQL
 * sandboxes; every answer is searched for the victim's identifiers and a canary from its events.
 */

const victimCanary = 'zq9victimcanary';
const acceptedCodes = ['ANALYTICS_QUERY_ERROR', 'ANALYTICS_QUERY_TIMEOUT', 'ANALYTICS_RESULT_TOO_LARGE', 'SCHEMA_ERROR'];

interface Hostile {
  /** What it tries. */
  name: string;
  query: string;
  params?: unknown[];
  timeout_ms?: number;
}

function hostileQueries(victim: TestProject, apiRole: string): Hostile[] {
  const tenancy = victim.tenancyId;
  return [
    // Changing the project filter.
    { name: 'set_config of the tenancy setting', query: `SELECT set_config('stack_analytics.tenancy_id', '${tenancy}', true) AS s, (SELECT count(*) FROM events) AS n` },
    { name: 'set_config with a bound parameter, joined', query: `SELECT e.* FROM (SELECT set_config('stack_analytics.tenancy_id', $1, false)) AS s, events AS e`, params: [tenancy] },
    { name: 'SET of the tenancy setting', query: `SET stack_analytics.tenancy_id = '${tenancy}'` },
    { name: 'SET LOCAL of the tenancy setting', query: `SET LOCAL stack_analytics.tenancy_id TO '${tenancy}'` },
    { name: 'RESET of the tenancy setting', query: 'RESET stack_analytics.tenancy_id' },
    { name: 'RESET ALL', query: 'RESET ALL' },
    { name: 'SET ROLE to the API role', query: `SET ROLE ${apiRole}` },
    { name: 'RESET ROLE', query: 'RESET ROLE' },
    { name: 'set_config of role', query: `SELECT set_config('role', '${apiRole}', true) AS r, (SELECT count(*) FROM public."AnalyticsEvent") AS n` },
    { name: 'SET SESSION AUTHORIZATION', query: `SET SESSION AUTHORIZATION ${apiRole}` },
    { name: 'set_config of session_authorization', query: `SELECT set_config('session_authorization', '${apiRole}', false)` },
    { name: 'UPDATE pg_settings', query: `UPDATE pg_settings SET setting = '${tenancy}' WHERE name = 'stack_analytics.tenancy_id'` },
    { name: 'a data-modifying CTE on pg_settings', query: `WITH s AS (UPDATE pg_settings SET setting = '${apiRole}' WHERE name = 'role' RETURNING 1) SELECT * FROM events` },
    // Several statements in one string.
    { name: 'two statements', query: `SELECT 1; SELECT * FROM public."AnalyticsEvent"` },
    { name: 'a role switch between statements', query: `SELECT * FROM events; SET ROLE ${apiRole}; SELECT * FROM public."AnalyticsEvent"` },
    { name: 'transaction control', query: 'COMMIT; SELECT * FROM public."AnalyticsEvent"' },
    // Reading other tables and catalogs.
    { name: 'the events table itself', query: 'SELECT * FROM public."AnalyticsEvent"' },
    { name: 'the events table through search_path', query: 'SELECT * FROM "AnalyticsEvent"' },
    { name: 'TABLE of the events table', query: 'TABLE public."AnalyticsEvent"' },
    { name: 'the projects table (keys)', query: 'SELECT * FROM public."Project"' },
    { name: 'the query log', query: 'SELECT * FROM public."AnalyticsQuery"' },
    { name: 'a scalar subquery on the table', query: `SELECT (SELECT string_agg(data::text, ',') FROM public."AnalyticsEvent") AS everything` },
    { name: 'pg_stats', query: 'SELECT * FROM pg_stats' },
    { name: 'pg_statistic', query: 'SELECT * FROM pg_catalog.pg_statistic' },
    { name: 'pg_stat_activity', query: 'SELECT query FROM pg_stat_activity' },
    { name: 'pg_stat_get_activity', query: 'SELECT * FROM pg_stat_get_activity(NULL)' },
    { name: 'pg_stat_statements', query: 'SELECT query FROM pg_stat_statements' },
    { name: 'large objects by id', query: 'SELECT lo_get(oid) FROM pg_largeobject_metadata' },
    { name: 'pg_largeobject', query: 'SELECT data FROM pg_largeobject' },
    { name: 'server files', query: `SELECT pg_read_file('postgresql.conf')` },
    { name: 'server directory', query: `SELECT * FROM pg_ls_dir('.')` },
    { name: 'unicode escapes for the table name', query: 'SELECT * FROM public.U&"\\0041nalyticsEvent"' },
    // Errors that would carry other projects' values past a filter applied too late.
    { name: 'a failing cast on every row', query: `SELECT * FROM events WHERE (data->>'marker')::int = 1` },
    { name: 'a division oracle on the victim’s canary', query: `SELECT count(*) AS n FROM events WHERE 1 / (CASE WHEN data->>'marker' = '${victimCanary}' THEN 0 ELSE 1 END) = 1` },
    // Writing.
    { name: 'DELETE in a CTE', query: 'WITH d AS (DELETE FROM events RETURNING *) SELECT * FROM d' },
    { name: 'DELETE of the table in a CTE', query: 'WITH d AS (DELETE FROM public."AnalyticsEvent" RETURNING *) SELECT count(*) FROM d' },
    { name: 'INSERT in a CTE', query: `WITH i AS (INSERT INTO events (event_type) VALUES ('forged') RETURNING 1) SELECT * FROM i` },
    { name: 'INSERT', query: `INSERT INTO events (event_type) VALUES ('forged')` },
    { name: 'UPDATE', query: `UPDATE events SET data = '{}'` },
    { name: 'TRUNCATE', query: 'TRUNCATE public."AnalyticsEvent"' },
    { name: 'COPY to a file', query: `COPY (SELECT * FROM events) TO '/tmp/analytics-leak'` },
    { name: 'COPY from a program', query: `COPY public."AnalyticsEvent" FROM PROGRAM 'id'` },
    { name: 'a temp table', query: 'CREATE TEMP TABLE stolen AS SELECT * FROM events' },
    { name: 'SELECT INTO a temp table', query: 'SELECT * INTO TEMP stolen FROM events' },
    { name: 'DROP VIEW', query: 'DROP VIEW events' },
    { name: 'a DO block', query: `DO $$ BEGIN PERFORM set_config('role', '${apiRole}', false); END $$` },
    { name: 'SELECT FOR UPDATE', query: 'SELECT * FROM events FOR UPDATE' },
    { name: 'a large object write', query: `SELECT lo_from_bytea(0, '\\x00')` },
    // Side effects outside the transaction.
    { name: 'nextval', query: `SELECT nextval('public."CdcSnapshot_id_seq"')` },
    { name: 'the migrations’ advisory lock', query: 'SELECT pg_advisory_lock(7264913000)' },
    { name: 'a transaction advisory lock', query: 'SELECT pg_try_advisory_xact_lock(1)' },
    { name: 'pg_notify', query: `SELECT pg_notify('analytics_canary', 'x')` },
    { name: 'NOTIFY', query: 'NOTIFY analytics_canary' },
    { name: 'LISTEN', query: 'LISTEN analytics_canary' },
    { name: 'a logical decoding message to the cdc reader', query: `SELECT pg_logical_emit_message(false, 'stack-sync-snapshot', 'forged')` },
    { name: 'dblink', query: `SELECT * FROM dblink('dbname=postgres', 'SELECT 1') AS t(a int)` },
    { name: 'terminating other backends', query: 'SELECT pg_terminate_backend(pid) FROM pg_stat_get_activity(NULL)' },
    { name: 'a transaction id', query: 'SELECT txid_current()' },
    // Comment and unicode tricks around the statement that wraps the query.
    { name: 'closing the wrapper in a block comment', query: `SELECT * FROM events /* ) AS analytics_row) AS rendered) AS bounded; SET ROLE ${apiRole}; */` },
    { name: 'a line comment then a statement', query: `SELECT * FROM events --\n; SET ROLE ${apiRole}` },
    { name: 'closing the wrapper’s parentheses', query: `SELECT * FROM events) AS analytics_row) AS rendered) AS bounded, (SELECT data::text AS row_json, 0 AS total_bytes FROM public."AnalyticsEvent") AS x --` },
    { name: 'an unterminated comment', query: 'SELECT * FROM events /*' },
    { name: 'a dollar-quoted statement', query: `SELECT $$ ; SET ROLE ${apiRole}; $$ AS s` },
    { name: 'a full-width semicolon', query: `SELECT 1；SET ROLE ${apiRole}` },
    { name: 'a NUL byte', query: `SELECT 1\u0000; SET ROLE ${apiRole}` },
    // Resource abuse.
    { name: 'a cross join bomb', query: 'SELECT count(*) FROM generate_series(1, 100000) a, generate_series(1, 100000) b', timeout_ms: 1_000 },
    { name: 'endless recursion', query: 'WITH RECURSIVE r(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM r) SELECT count(*) FROM r', timeout_ms: 1_000 },
    { name: 'a gigabyte value', query: `SELECT repeat('x', 1000000000) AS blob`, timeout_ms: 5_000 },
  ];
}

async function seed(ctx: PipelineContext, project: TestProject, marker: string, count: number): Promise<void> {
  await ctx.internal.query(
    `INSERT INTO "AnalyticsEvent" ("tenancyId", "projectId", type, "projectUserId", data)
     SELECT $1, $2, 'sign_up', gen_random_uuid(), jsonb_build_object('marker', $3::text) FROM generate_series(1, $4)`,
    [project.tenancyId, project.id, marker, count],
  );
}

async function tableCounts(ctx: PipelineContext): Promise<Record<string, number>> {
  const counts: Record<string, number> = {};
  for (const table of ['AnalyticsEvent', 'Project', 'Tenancy', 'ProjectUser', 'CdcSnapshot']) counts[table] = Number((await ctx.internal.query(`SELECT count(*) FROM "${table}"`)).rows[0].count);
  return counts;
}

describe('analytics isolation against hostile queries', () => {
  it('never returns another project’s events, changes nothing and leaves no connection busy', async () => {
    await using ctx = await PipelineContext.open();
    const victim = await ctx.createProject('victim');
    const attacker = await ctx.createProject('attacker');
    await seed(ctx, victim, victimCanary, 25);
    await seed(ctx, attacker, 'attacker', 3);
    // A large object of the victim's, and a listener for notifications a query might send.
    await ctx.internal.query(`SELECT lo_from_bytea(0, convert_to($1, 'UTF8'))`, [victimCanary]);
    const victimSecrets = [victim.id, victim.tenancyId, victimCanary, ...(await ctx.internal.query<{ id: string }>(`SELECT coalesce("projectUserId"::text, id::text) AS id FROM "AnalyticsEvent" WHERE "tenancyId" = $1`, [victim.tenancyId])).rows.map((row) => row.id)];
    const listener = new pg.Client({ connectionString: ctx.config.DATABASE_URL });
    await listener.connect();
    const notifications: string[] = [];
    listener.on('notification', (message) => notifications.push(message.channel));
    await listener.query('LISTEN analytics_canary');
    const apiRole = String((await ctx.internal.query('SELECT current_user AS role')).rows[0].role);
    const before = await tableCounts(ctx);

    const hostile = hostileQueries(victim, apiRole);
    expect(hostile.length).toBeGreaterThanOrEqual(40);
    const answered: Record<string, number> = {};
    for (const attack of hostile) {
      const started = Date.now();
      const response = await ctx.as(attacker, 'admin', 'POST', '/api/v1/internal/analytics/query', {
        query: attack.query,
        ...(attack.params ? { params: attack.params } : {}),
        ...(attack.timeout_ms ? { timeout_ms: attack.timeout_ms } : {}),
      });
      const label = `${attack.name}: ${response.status} ${JSON.stringify(response.body).slice(0, 300)}`;
      const text = JSON.stringify(response.body);
      for (const secret of victimSecrets) expect(text, label).not.toContain(secret);
      if (response.status === 200) {
        // Whatever it returned, events are the attacker's own.
        for (const row of response.body.result as Record<string, unknown>[]) if ('data' in row) expect(row.data, label).toEqual({ marker: 'attacker' });
      } else {
        expect(response.status, label).toBe(400);
        expect(acceptedCodes, label).toContain(response.body.code);
      }
      if (attack.timeout_ms === 1_000) {
        expect(response.body.code, label).toBe('ANALYTICS_QUERY_TIMEOUT');
        // Cancelled at its timeout, not at the default 10 s.
        expect(Date.now() - started, label).toBeLessThan(4_000);
      }
      answered[String(response.body.code ?? response.status)] = (answered[String(response.body.code ?? response.status)] ?? 0) + 1;
    }

    // Specific answers where "an error" is not enough.
    const failing = await ctx.as(attacker, 'admin', 'POST', '/api/v1/internal/analytics/query', { query: 'SELECT pg_sleep(30)', timeout_ms: 1_000 });
    expect([failing.status, failing.body.code]).toEqual([400, 'ANALYTICS_QUERY_TIMEOUT']);
    const own = await ctx.as(attacker, 'admin', 'POST', '/api/v1/internal/analytics/query', { query: `SELECT count(*) AS n, current_user AS role, current_setting('stack_analytics.tenancy_id') AS tenancy FROM events` });
    expect(own.body.result).toEqual([{ n: 3, role: 'stack_analytics_query', tenancy: attacker.tenancyId }]);
    const victimOwn = await ctx.as(victim, 'admin', 'POST', '/api/v1/internal/analytics/query', { query: `SELECT count(*) AS n FROM events WHERE data->>'marker' = $1`, params: [victimCanary] });
    expect(victimOwn.body.result).toEqual([{ n: 25 }]);

    expect(await tableCounts(ctx)).toEqual(before);
    // No lock, notification or busy connection outlives a query.
    expect((await ctx.internal.query(`SELECT count(*) AS n FROM pg_locks WHERE locktype = 'advisory'`)).rows[0].n).toBe('0');
    await listener.query('SELECT 1');
    expect(notifications).toEqual([]);
    await listener.end();
    await waitFor(
      'analytics connections to be idle',
      async () =>
        (await ctx.internal.query(`SELECT count(*) AS n FROM pg_stat_activity WHERE datname = current_database() AND application_name = 'stack-sync-analytics' AND state <> 'idle'`)).rows[0].n === '0',
      { timeoutMs: 5_000, intervalMs: 50 },
    );
    const pool = ctx.deps.analytics.pool;
    expect(pool.idleCount).toBe(pool.totalCount);
    // Pooled connections are back to the API's role with no tenancy: a query that is not sandboxed sees none.
    const pooled = await pool.query(`SELECT current_user AS role, current_setting('stack_analytics.tenancy_id', true) AS tenancy`);
    expect(pooled.rows[0]).toEqual({ role: apiRole, tenancy: expect.toSatisfy((value: unknown) => value === null || value === '') });
    expect(answered['500']).toBeUndefined();
  });
});
