import { signUpRuleActionTypes, type SignUpRuleActionType } from '../../schema/sign-up-rule-config';

/** The statistics cover this many UTC hours, the current one last. */
export const statsHours = 48;
const hourMs = 3_600_000;

/** Recorded triggers of one rule, action and outcome within one UTC hour. */
export interface TriggerCount {
  ruleId: string;
  action: SignUpRuleActionType;
  outcome: 'matched' | 'error';
  /** Start of the hour, ms since the epoch. */
  hourStartMs: number;
  count: number;
}

/** stack-auth's `GET /internal/sign-up-rules-stats` answer, plus the rules that failed to evaluate. */
export interface SignUpRuleStats {
  rule_triggers: { rule_id: string; total_count: number; hourly_counts: { hour: string; count: number }[] }[];
  total_triggers: number;
  triggers_by_action: Record<SignUpRuleActionType, number>;
  /** Rules whose condition failed to evaluate on a sign-up (they did not match it): fix them. */
  evaluation_errors: { rule_id: string; total_count: number }[];
}

/** The first hour the statistics cover (the current hour's start minus 47 hours). */
export function statsWindowStart(now: Date): Date {
  const currentHour = Math.floor(now.getTime() / hourMs) * hourMs;
  return new Date(currentHour - (statsHours - 1) * hourMs);
}

/** Builds the answer from per-hour counts: every hour of the window, oldest first, only rules that fired. */
export function buildTriggerStats(counts: readonly TriggerCount[], now: Date): SignUpRuleStats {
  const start = statsWindowStart(now).getTime();
  const hours = Array.from({ length: statsHours }, (_, index) => start + index * hourMs);
  const byRule = new Map<string, Map<number, number>>();
  const errors = new Map<string, number>();
  const byAction = Object.fromEntries(signUpRuleActionTypes.map((action) => [action, 0])) as Record<SignUpRuleActionType, number>;
  let total = 0;
  for (const count of counts) {
    if (count.hourStartMs < start || count.hourStartMs > hours.at(-1)!) continue;
    if (count.outcome === 'error') {
      errors.set(count.ruleId, (errors.get(count.ruleId) ?? 0) + count.count);
      continue;
    }
    const hourly = byRule.get(count.ruleId) ?? new Map<number, number>();
    hourly.set(count.hourStartMs, (hourly.get(count.hourStartMs) ?? 0) + count.count);
    byRule.set(count.ruleId, hourly);
    byAction[count.action] += count.count;
    total += count.count;
  }
  const ruleTriggers = [...byRule.entries()].map(([ruleId, hourly]) => ({
    rule_id: ruleId,
    total_count: [...hourly.values()].reduce((sum, count) => sum + count, 0),
    hourly_counts: hours.map((hour) => ({ hour: new Date(hour).toISOString(), count: hourly.get(hour) ?? 0 })),
  }));
  ruleTriggers.sort((a, b) => b.total_count - a.total_count || (a.rule_id < b.rule_id ? -1 : a.rule_id > b.rule_id ? 1 : 0));
  const evaluationErrors = [...errors.entries()]
    .map(([ruleId, count]) => ({ rule_id: ruleId, total_count: count }))
    .sort((a, b) => b.total_count - a.total_count || (a.rule_id < b.rule_id ? -1 : 1));
  return { rule_triggers: ruleTriggers, total_triggers: total, triggers_by_action: byAction, evaluation_errors: evaluationErrors };
}
