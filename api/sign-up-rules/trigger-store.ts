import { analyticsEvent } from '../../schema/analytics-tables';
import { analyticsEventInput } from '../analytics/events';
import { and, count, eq, gte, sql } from 'drizzle-orm';
import { signUpRuleActionTypes, type SignUpRuleActionType } from '../../schema/sign-up-rule-config';
import { signUpRuleTrigger } from '../../schema/sign-up-rule-tables';
import { logger } from '../../infra/runtime/log';
import type { Database, RequestProject } from '../api-env';
import type { SignUpRuleContext } from './sign-up-context';
import type { SignUpRulesOutcome } from './rule-evaluator';
import { statsWindowStart, type TriggerCount } from './trigger-stats';

const log = logger('sign-up-rules');

/** An instant as Postgres `timestamp without time zone` holds it here: UTC wall-clock time. */
function utcTimestamp(instant: Date): string {
  return instant.toISOString().replace('Z', '');
}

/**
 * Records every rule that matched this sign-up, and every rule that failed to evaluate on it, in
 * one statement. Written outside the sign-up's own transaction, so a rejected sign-up (rolled back)
 * still counts. A statistic that cannot be written never fails the sign-up: it is logged.
 */
export async function recordRuleTriggers(
  db: Pick<Database, 'transaction'>,
  project: Pick<RequestProject, 'id' | 'tenancyId'>,
  context: SignUpRuleContext,
  outcome: Pick<SignUpRulesOutcome, 'matches' | 'errors'>,
  now = new Date(),
): Promise<void> {
  const rows = [
    ...outcome.matches.map((match) => ({ ruleId: match.ruleId, action: match.action, outcome: 'matched' })),
    ...outcome.errors.map((error) => ({ ruleId: error.ruleId, action: error.action, outcome: 'error' })),
  ].map((row) => ({
    ...row,
    projectId: project.id,
    tenancyId: project.tenancyId,
    authMethod: context.authMethod,
    oauthProvider: context.oauthProvider,
    triggeredAt: now,
  }));
  if (outcome.errors.length > 0) {
    // A count only: an error's message can quote the address signed up, and rule ids are text an
    // admin typed. Which rules failed is in the statistics (evaluation_errors).
    log.warn('sign-up rules failed to evaluate', { projectId: project.id, failedRules: outcome.errors.length });
  }
  if (rows.length === 0) return;
  try {
    // One transaction: the statistics and the analytics events never disagree.
    await db.transaction(async (tx) => {
      await tx.insert(signUpRuleTrigger).values(rows);
      // The same matches as analytics events, so admins can query them with the rest (DESIGN.md "Analytics").
      if (outcome.matches.length > 0) {
        await tx.insert(analyticsEvent).values(
          outcome.matches.map((match) => ({
            projectId: project.id,
            tenancyId: project.tenancyId,
            projectUserId: null,
            type: 'sign_up_rule_match',
            data: analyticsEventInput.parse({
              type: 'sign_up_rule_match',
              data: {
                rule_id: match.ruleId,
                action: match.action,
                auth_method: context.authMethod,
                ...(context.oauthProvider !== '' ? { oauth_provider: context.oauthProvider } : {}),
              },
            }).data,
            createdAt: now,
          })),
        );
      }
    });
  } catch (error: unknown) {
    log.error('sign-up rule triggers not recorded', { projectId: project.id, rules: rows.length, error });
  }
}

function isActionType(value: string): value is SignUpRuleActionType {
  return (signUpRuleActionTypes as readonly string[]).includes(value);
}

/** Triggers of the statistics window, counted per rule, action, outcome and UTC hour. */
export async function loadTriggerCounts(db: Pick<Database, 'select'>, tenancyId: string, now = new Date()): Promise<TriggerCount[]> {
  // extract(epoch …) of a timestamp without time zone reads it as UTC, as it is stored.
  const hourStart = sql<string>`extract(epoch from date_trunc('hour', ${signUpRuleTrigger.triggeredAt}))::bigint`;
  const rows = await db
    .select({ ruleId: signUpRuleTrigger.ruleId, action: signUpRuleTrigger.action, outcome: signUpRuleTrigger.outcome, hourStart, count: count() })
    .from(signUpRuleTrigger)
    .where(and(eq(signUpRuleTrigger.tenancyId, tenancyId), gte(signUpRuleTrigger.triggeredAt, sql`${utcTimestamp(statsWindowStart(now))}::timestamp`)))
    .groupBy(signUpRuleTrigger.ruleId, signUpRuleTrigger.action, signUpRuleTrigger.outcome, hourStart);
  return rows.flatMap((row) =>
    isActionType(row.action)
      ? [{ ruleId: row.ruleId, action: row.action, outcome: row.outcome === 'error' ? ('error' as const) : ('matched' as const), hourStartMs: Number(row.hourStart) * 1_000, count: row.count }]
      : [],
  );
}
