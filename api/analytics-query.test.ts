import { describe, expect, it } from 'vitest';
import { PipelineContext, type TestProject } from '../e2e/harness/pipeline-context';

/** Events of a project written straight into the table, `count` of each type, spread over the last days. */
async function seedEvents(ctx: PipelineContext, project: TestProject, count: number, marker: string): Promise<void> {
  await ctx.internal.query(
    `INSERT INTO "AnalyticsEvent" ("tenancyId", "projectId", type, "projectUserId", "createdAt", data)
     SELECT $1, $2, (ARRAY['sign_up', 'sign_in', 'token_refresh'])[1 + n % 3], gen_random_uuid(), now() - (n % 10) * interval '1 day',
            jsonb_build_object('auth_method', (ARRAY['password', 'otp'])[1 + n % 2], 'marker', $4::text)
     FROM generate_series(1, $3) AS n`,
    [project.tenancyId, project.id, count, marker],
  );
}

function query(ctx: PipelineContext, project: TestProject, body: Record<string, unknown>) {
  return ctx.as(project, 'admin', 'POST', '/api/v1/internal/analytics/query', body);
}

describe('analytics queries', () => {
  it('answers an aggregate over the project’s own events with bound parameters, and its timing by query id', async () => {
    await using ctx = await PipelineContext.open();
    const project = await ctx.createProject();
    const other = await ctx.createProject('other');
    await seedEvents(ctx, project, 30, 'mine');
    await seedEvents(ctx, other, 50, 'theirs');
    const response = await query(ctx, project, {
      query: `SELECT event_type, count(*) AS events FROM events WHERE event_at > now() - $1::interval AND data->>'marker' = $2 GROUP BY event_type ORDER BY event_type`,
      params: ['30 days', 'mine'],
    });
    expect(response.status, JSON.stringify(response.body)).toBe(200);
    expect(response.body.result).toEqual([
      { event_type: 'sign_in', events: 10 },
      { event_type: 'sign_up', events: 10 },
      { event_type: 'token_refresh', events: 10 },
    ]);
    const queryId = String(response.body.query_id);
    for (const accessType of ['server', 'admin'] as const) {
      const timing = await ctx.as(project, accessType, 'POST', '/api/v1/internal/analytics/query/timing', { query_id: queryId });
      expect(timing.status).toBe(200);
      const stats = timing.body.stats as { wall_clock_time: number; cpu_time: number };
      expect(stats.wall_clock_time).toBeGreaterThan(0);
      expect(stats.cpu_time).toBeGreaterThan(0);
      expect(stats.cpu_time).toBeLessThanOrEqual(stats.wall_clock_time);
    }
    // Another project's query id is as unknown as a made-up one.
    for (const unknown of [queryId, '00000000-0000-4000-8000-000000000000']) {
      const timing = await ctx.as(other, 'admin', 'POST', '/api/v1/internal/analytics/query/timing', { query_id: unknown });
      expect([timing.status, timing.body.code]).toEqual([404, 'ITEM_NOT_FOUND']);
    }
    const client = await ctx.as(project, 'client', 'POST', '/api/v1/internal/analytics/query', { query: 'SELECT 1' });
    expect(client.status).toBe(401);
    const server = await ctx.as(project, 'server', 'POST', '/api/v1/internal/analytics/query', { query: 'SELECT 1' });
    expect([server.status, server.body.code]).toEqual([401, 'INSUFFICIENT_ACCESS_TYPE']);
  });

  it('returns every column type as JSON, strips a trailing semicolon, and reports Postgres errors as ANALYTICS_QUERY_ERROR', async () => {
    await using ctx = await PipelineContext.open();
    const project = await ctx.createProject();
    const values = await query(ctx, project, { query: `SELECT 1 AS a, 'x' AS b, true AS c, NULL AS d, '{"k": [1]}'::jsonb AS e, timestamptz '2026-01-02 03:04:05Z' AS f, $1::int AS g -- trailing comment;\n;`, params: [7] });
    expect(values.status, JSON.stringify(values.body)).toBe(200);
    expect(values.body.result).toEqual([{ a: 1, b: 'x', c: true, d: null, e: { k: [1] }, f: '2026-01-02T03:04:05+00:00', g: 7 }]);
    const empty = await query(ctx, project, { query: 'SELECT * FROM events' });
    expect(empty.body.result).toEqual([]);
    const broken = await query(ctx, project, { query: 'SELECT no_such_column FROM events' });
    expect([broken.status, broken.body.code]).toEqual([400, 'ANALYTICS_QUERY_ERROR']);
    expect(broken.body.error).toBe('column "no_such_column" does not exist');
    expect((broken.body.details as { query_id: string }).query_id).toMatch(/^[0-9a-f-]{36}$/);
    const missingParam = await query(ctx, project, { query: 'SELECT $2::int' , params: [1] });
    expect([missingParam.status, missingParam.body.code]).toEqual([400, 'ANALYTICS_QUERY_ERROR']);
  });

  it('checks timeout_ms: 1,000…120,000, default 10,000', async () => {
    await using ctx = await PipelineContext.open();
    const project = await ctx.createProject();
    const tooLong = await query(ctx, project, { query: 'SELECT 1', timeout_ms: 120_001 });
    expect([tooLong.status, tooLong.body.code]).toEqual([400, 'SCHEMA_ERROR']);
    expect(tooLong.body.error).toContain('body.timeout_ms must be less than or equal to 120000');
    const tooShort = await query(ctx, project, { query: 'SELECT 1', timeout_ms: 999 });
    expect([tooShort.status, tooShort.body.code]).toEqual([400, 'SCHEMA_ERROR']);
    expect(tooShort.body.error).toContain('body.timeout_ms must be greater than or equal to 1000');
    const fractional = await query(ctx, project, { query: 'SELECT 1', timeout_ms: 1500.5 });
    expect(fractional.status).toBe(400);
    for (const timeout_ms of [1_000, 120_000]) expect((await query(ctx, project, { query: 'SELECT 1', timeout_ms })).status).toBe(200);
    // The default lets a 1.5 s query finish (a 1 s budget does not).
    const slow = await query(ctx, project, { query: 'SELECT pg_sleep(1.5) IS NULL AS slept' });
    expect([slow.status, slow.body.result]).toEqual([200, [{ slept: false }]]);
  });

  it('refuses results beyond 10,000 rows or 10 MiB with an error, never a cut answer', async () => {
    await using ctx = await PipelineContext.open();
    const project = await ctx.createProject();
    const exactly = await query(ctx, project, { query: 'SELECT n FROM generate_series(1, 10000) AS n' });
    expect(exactly.status).toBe(200);
    expect((exactly.body.result as unknown[]).length).toBe(10_000);
    const tooMany = await query(ctx, project, { query: 'SELECT n FROM generate_series(1, 10001) AS n' });
    expect([tooMany.status, tooMany.body.code]).toEqual([400, 'ANALYTICS_RESULT_TOO_LARGE']);
    expect(tooMany.body.error).toContain('10000 rows');
    const endless = await query(ctx, project, { query: 'SELECT generate_series(1, 1000000000) AS n', timeout_ms: 5_000 });
    expect([endless.status, endless.body.code]).toEqual([400, 'ANALYTICS_RESULT_TOO_LARGE']);
    // 11 rows of 1 MiB: the API receives the first ten and the sizes of the rest, never the rest.
    const tooBig = await query(ctx, project, { query: `SELECT repeat('x', 1048576) AS blob FROM generate_series(1, 11)` });
    expect([tooBig.status, tooBig.body.code]).toEqual([400, 'ANALYTICS_RESULT_TOO_LARGE']);
    expect(tooBig.body.error).toContain('bytes');
    // One row larger than everything allowed.
    const oneHuge = await query(ctx, project, { query: `SELECT repeat('x', 50000000) AS blob` });
    expect([oneHuge.status, oneHuge.body.code]).toEqual([400, 'ANALYTICS_RESULT_TOO_LARGE']);
    const justUnder = await query(ctx, project, { query: `SELECT repeat('x', 1000000) AS blob FROM generate_series(1, 10)` });
    expect(justUnder.status).toBe(200);
  });
});
