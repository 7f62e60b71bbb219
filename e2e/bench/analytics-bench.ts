import { randomBytes } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import pg from 'pg';
import { AnalyticsQueryRunner } from '../../api/analytics/query-runner';
import { describeLocalServices, upLocalServices } from '../../infra/local-services';
import { localSettings } from '../../infra/local-settings';
import { migrateInternalDatabase } from '../../schema/migrate';
import { adminQuery, percentile, report, runBench } from './bench-setup';

/**
 * Analytics over a shared events table (issue 14): BENCH_ANALYTICS_EVENTS (1,000,000) events over
 * BENCH_ANALYTICS_PROJECTS (100) projects and 90 days, written with generate_series; then a typical
 * aggregate of one project over 30 days ("sign-ups per day by method") through the same runner the
 * API uses (sandbox role, security-barrier view, bounded cursor), on several projects. Prints figures;
 * the target (under 200 ms) is checked by a reader, never by CI.
 */
const events = Number(process.env.BENCH_ANALYTICS_EVENTS ?? 1_000_000);
const projects = Number(process.env.BENCH_ANALYTICS_PROJECTS ?? 100);
const runsPerProject = 10;
const measuredProjects = 10;

const aggregate = `
SELECT date_trunc('day', event_at) AS day, data->>'auth_method' AS method, count(*) AS sign_ups
FROM events
WHERE event_type = 'sign_up' AND event_at >= now() - $1::interval
GROUP BY 1, 2
ORDER BY 1, 2`;

runBench(async () => {
  process.env.STACK_SYNC_QUIET ??= '1';
  const services = describeLocalServices(localSettings({ ...process.env, STACK_SYNC_PROFILE: 'test' }));
  await upLocalServices(services);
  const name = `bench_${randomBytes(4).toString('hex')}`;
  const internalAdmin = services.env.DATABASE_URL!.replace(/\/stack$/, '/postgres');
  const url = internalAdmin.replace(/\/postgres$/, `/${name}`);
  await adminQuery(internalAdmin, `CREATE DATABASE ${name}`);
  const pool = new pg.Pool({ connectionString: url, max: 2 });
  const runner = new AnalyticsQueryRunner(url);
  try {
    await migrateInternalDatabase(url);
    const loadStarted = performance.now();
    await pool.query(
      `INSERT INTO "Project" (id, "displayName", "publishableClientKeyHash", "secretServerKeyHash", "superSecretAdminKeyHash")
       SELECT 'bench-' || n, 'bench ' || n, '-', '-', '-' FROM generate_series(1, $1) AS n`,
      [projects],
    );
    await pool.query(`INSERT INTO "Tenancy" (id, "projectId", "branchId") SELECT gen_random_uuid(), id, 'main' FROM "Project"`);
    // Events interleaved across projects, as they arrive in production, 90 days back from now.
    await pool.query(
      `WITH tenancies AS (SELECT row_number() OVER (ORDER BY id) - 1 AS slot, id, "projectId" FROM "Tenancy")
       INSERT INTO "AnalyticsEvent" ("tenancyId", "projectId", type, "projectUserId", "createdAt", data)
       SELECT t.id, t."projectId",
              (ARRAY['sign_up', 'sign_in', 'sign_in', 'token_refresh', 'token_refresh', 'token_refresh'])[1 + (n / $2) % 6],
              gen_random_uuid(),
              now() - (n::double precision / $1) * interval '90 days',
              jsonb_build_object('auth_method', (ARRAY['password', 'otp', 'oauth', 'anonymous'])[1 + (n / 7) % 4])
       FROM generate_series(0, $1 - 1) AS n JOIN tenancies AS t ON t.slot = n % $2`,
      [events, projects],
    );
    await pool.query('ANALYZE "AnalyticsEvent"');
    const loadSeconds = (performance.now() - loadStarted) / 1000;

    const tenancies = (await pool.query<{ id: string }>(`SELECT id FROM "Tenancy" ORDER BY id LIMIT $1`, [measuredProjects])).rows;
    const wall: number[] = [];
    const backend: number[] = [];
    let rows = 0;
    let emptyResults = 0;
    for (const { id } of tenancies) {
      for (let run = 0; run < runsPerProject; run++) {
        const result = await runner.run({ tenancyId: id, query: aggregate, params: ['30 days'], timeoutMs: 10_000 });
        if (result.outcome.kind !== 'rows') throw new Error(`the aggregate failed: ${JSON.stringify(result.outcome)}`);
        // The first run of each project pays for cold pages; all runs are reported.
        wall.push(result.timing.wallClockMs);
        backend.push(result.timing.cpuTimeMs);
        rows += result.rowCount;
        if (result.rowCount === 0) emptyResults++;
      }
    }
    wall.sort((a, b) => a - b);
    backend.sort((a, b) => a - b);
    const round = (value: number) => Math.round(value * 10) / 10;
    report({
      events,
      projects,
      load_seconds: round(loadSeconds),
      queries: wall.length,
      result_rows_per_query: round(rows / wall.length),
      empty_results: emptyResults,
      wall_clock_p50_ms: round(percentile(wall, 50)),
      wall_clock_p95_ms: round(percentile(wall, 95)),
      wall_clock_max_ms: round(wall[wall.length - 1]!),
      postgres_time_p50_ms: round(percentile(backend, 50)),
      postgres_time_p95_ms: round(percentile(backend, 95)),
      target_ms: 200,
    });
  } finally {
    await runner.close();
    await pool.end();
    await adminQuery(internalAdmin, `DROP DATABASE IF EXISTS ${name} WITH (FORCE)`).catch(() => undefined);
  }
});
