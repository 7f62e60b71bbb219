import { and, eq } from 'drizzle-orm';
import { analyticsQuery } from '../../schema/analytics-tables';
import type { Database } from '../api-env';
import type { AnalyticsOutcome, AnalyticsTiming } from './query-runner';

const outcomeNames: Record<AnalyticsOutcome['kind'], string> = {
  rows: 'ok',
  'query-error': 'error',
  timeout: 'timeout',
  'too-many-rows': 'too_large',
  'too-many-bytes': 'too_large',
};

/** Keeps a query's timing under its id, for `POST /internal/analytics/query/timing`. */
export async function saveQueryTiming(
  db: Database,
  queryId: string,
  tenancyId: string,
  run: { outcome: AnalyticsOutcome; timing: AnalyticsTiming; rowCount: number },
): Promise<void> {
  await db.insert(analyticsQuery).values({
    id: queryId,
    tenancyId,
    outcome: outcomeNames[run.outcome.kind],
    wallClockMs: run.timing.wallClockMs,
    cpuTimeMs: run.timing.cpuTimeMs,
    rowCount: run.rowCount,
  });
}

/** The timing of a query of this tenancy; another tenancy's id is as unknown as a made-up one. */
export async function findQueryTiming(db: Database, tenancyId: string, queryId: string): Promise<AnalyticsTiming | undefined> {
  const [row] = await db
    .select({ wallClockMs: analyticsQuery.wallClockMs, cpuTimeMs: analyticsQuery.cpuTimeMs })
    .from(analyticsQuery)
    .where(and(eq(analyticsQuery.id, queryId), eq(analyticsQuery.tenancyId, tenancyId)));
  return row;
}
