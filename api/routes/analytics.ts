import { randomUUID } from 'node:crypto';
import { Hono } from 'hono';
import { z } from 'zod';
import { knownErrors } from '../api-error';
import type { ApiEnv } from '../api-env';
import { analyticsLimits } from '../analytics/query-limits';
import { findQueryTiming, saveQueryTiming } from '../analytics/query-timings';
import { parseBody } from '../parse-body';
import { requireAccess } from '../project-auth';

const { minTimeoutMs, maxTimeoutMs, defaultTimeoutMs, maxRows, maxBytes } = analyticsLimits;

export const analyticsQueryBody = z.strictObject({
  /** One SELECT (or VALUES / TABLE) over `events`; `$1`, `$2`, … name `params`. */
  query: z.string().min(1).max(100_000),
  params: z.array(z.union([z.string().max(100_000), z.number(), z.boolean(), z.null()])).max(100).optional(),
  /** ms */
  timeout_ms: z
    .number()
    .int()
    .min(minTimeoutMs, { error: `body.timeout_ms must be greater than or equal to ${minTimeoutMs}` })
    .max(maxTimeoutMs, { error: `body.timeout_ms must be less than or equal to ${maxTimeoutMs}` })
    .optional(),
});

export const analyticsTimingBody = z.strictObject({ query_id: z.uuid() });

export const analyticsRoutes = new Hono<ApiEnv>()
  /** Runs a read-only SQL query over the project's own events (api/analytics/query-runner.ts). */
  .post('/internal/analytics/query', requireAccess('admin'), async (c) => {
    const deps = c.get('deps');
    const project = c.get('project');
    const body = await parseBody(c, analyticsQueryBody);
    const timeoutMs = body.timeout_ms ?? defaultTimeoutMs;
    const queryId = randomUUID();
    // One query per project at a time (per API process): the pool is shared by every project.
    const release = deps.analytics.admit(project.tenancyId);
    if (!release) throw knownErrors.rateLimited(1);
    const run = await deps.analytics
      .run({ tenancyId: project.tenancyId, query: body.query, params: body.params ?? [], timeoutMs })
      .finally(release);
    await saveQueryTiming(deps.db, queryId, project.tenancyId, run);
    const { outcome } = run;
    switch (outcome.kind) {
      case 'rows':
        return c.json({ result: outcome.rows, query_id: queryId });
      case 'query-error':
        throw knownErrors.analyticsQueryError(outcome.message, queryId);
      case 'timeout':
        throw knownErrors.analyticsQueryTimeout(outcome.timeoutMs, queryId);
      case 'too-many-rows':
        throw knownErrors.analyticsResultTooLarge(`${maxRows} rows`, queryId);
      case 'too-many-bytes':
        throw knownErrors.analyticsResultTooLarge(`${maxBytes} bytes of JSON (10 MiB)`, queryId);
    }
  })
  /** Wall-clock and Postgres execution time of an earlier query of this project, in ms. */
  .post('/internal/analytics/query/timing', requireAccess('server'), async (c) => {
    const deps = c.get('deps');
    const body = await parseBody(c, analyticsTimingBody);
    const timing = await findQueryTiming(deps.db, c.get('project').tenancyId, body.query_id);
    if (!timing) throw knownErrors.itemNotFound();
    return c.json({ stats: { wall_clock_time: timing.wallClockMs, cpu_time: timing.cpuTimeMs } });
  });
