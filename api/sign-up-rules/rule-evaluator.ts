import type { SignUpRuleActionType, SignUpRulesDefaultAction, StoredSignUpRule, StoredSignUpRules } from '../../schema/sign-up-rule-config';
import { compileCondition, type CompiledCondition } from './condition-compiler';
import type { SignUpRuleContext } from './sign-up-context';

/**
 * Evaluates a project's sign-up rules against one sign-up (DESIGN.md "Sign-up rules (CEL)"):
 * enabled rules by priority (higher first), ties by id; the first `allow` or `reject` that matches
 * decides; `log` and `restrict` continue (the first restricting rule is the one recorded); when none
 * decides, the default action does. A condition that cannot be evaluated does not match. Pure.
 */

export interface CompiledSignUpRule {
  id: string;
  rule: StoredSignUpRule;
  evaluate: CompiledCondition;
}

export interface CompiledRuleSet {
  /** In evaluation order. */
  rules: readonly CompiledSignUpRule[];
  defaultAction: SignUpRulesDefaultAction;
}

export type RuleStatus =
  | 'matched'
  | 'not_matched'
  | 'disabled'
  /** The condition failed to evaluate (a bad regex, a type error): the rule did not match. */
  | 'error'
  /** An earlier rule decided; this one was not evaluated. */
  | 'not_reached';

export interface RuleTraceEntry {
  ruleId: string;
  status: RuleStatus;
  /** Why, for `error`. */
  error?: string;
}

export type SignUpDecision = 'allow' | 'reject' | 'default-allow' | 'default-reject';

export interface SignUpRulesOutcome {
  decision: SignUpDecision;
  /** The rule that decided; null for a default. */
  decisionRuleId: string | null;
  /** The first (highest-priority) rule that restricted the sign-up, even when a later one rejected it. */
  restrictedByRuleId: string | null;
  /** Every rule that matched, in evaluation order: each is one statistic. */
  matches: readonly { ruleId: string; action: SignUpRuleActionType }[];
  /** Every rule whose condition failed to evaluate. */
  errors: readonly { ruleId: string; action: SignUpRuleActionType; problem: string }[];
  /** Every rule, in evaluation order, with what became of it. */
  trace: readonly RuleTraceEntry[];
}

/** Evaluation order: priority descending, then id by code unit (the same on every machine). */
export function compareRules(a: { id: string; priority: number }, b: { id: string; priority: number }): number {
  if (a.priority !== b.priority) return b.priority - a.priority;
  return a.id < b.id ? -1 : a.id > b.id ? 1 : 0;
}

/** Rules ordered for evaluation, each condition compiled once. A stored condition that no longer compiles always fails to evaluate. */
export function compileRuleSet(rules: StoredSignUpRules, defaultAction: SignUpRulesDefaultAction): CompiledRuleSet {
  const compiled = Object.entries(rules)
    .map(([id, rule]) => {
      const result = compileCondition(rule.condition);
      const evaluate: CompiledCondition = result.ok
        ? result.evaluate
        : () => ({ kind: 'error', problem: `the condition does not compile (line ${result.line}, column ${result.column}): ${result.problem}` });
      return { id, rule, evaluate };
    })
    .sort((a, b) => compareRules({ id: a.id, priority: a.rule.priority }, { id: b.id, priority: b.rule.priority }));
  return { rules: compiled, defaultAction };
}

export function evaluateSignUpRules(ruleSet: CompiledRuleSet, context: SignUpRuleContext): SignUpRulesOutcome {
  const matches: { ruleId: string; action: SignUpRuleActionType }[] = [];
  const errors: { ruleId: string; action: SignUpRuleActionType; problem: string }[] = [];
  const trace: RuleTraceEntry[] = [];
  let restrictedByRuleId: string | null = null;
  let decided: { decision: 'allow' | 'reject'; ruleId: string } | undefined;

  for (const { id, rule, evaluate } of ruleSet.rules) {
    if (decided) {
      trace.push({ ruleId: id, status: rule.enabled ? 'not_reached' : 'disabled' });
      continue;
    }
    if (!rule.enabled) {
      trace.push({ ruleId: id, status: 'disabled' });
      continue;
    }
    const result = evaluate(context);
    if (result.kind === 'error') {
      errors.push({ ruleId: id, action: rule.action.type, problem: result.problem });
      trace.push({ ruleId: id, status: 'error', error: result.problem });
      continue;
    }
    if (!result.matched) {
      trace.push({ ruleId: id, status: 'not_matched' });
      continue;
    }
    trace.push({ ruleId: id, status: 'matched' });
    const action = rule.action.type;
    matches.push({ ruleId: id, action });
    switch (action) {
      case 'allow':
      case 'reject':
        decided = { decision: action, ruleId: id };
        break;
      case 'restrict':
        restrictedByRuleId ??= id;
        break;
      case 'log':
        break;
    }
  }

  return {
    decision: decided?.decision ?? (ruleSet.defaultAction === 'reject' ? 'default-reject' : 'default-allow'),
    decisionRuleId: decided?.ruleId ?? null,
    restrictedByRuleId,
    matches,
    errors,
    trace,
  };
}

/** Whether the sign-up may go ahead (possibly restricted). */
export function isSignUpAllowed(outcome: SignUpRulesOutcome): boolean {
  return outcome.decision === 'allow' || outcome.decision === 'default-allow';
}

/** The private details a rule-restricted user carries (the public reason stays null). */
export function signUpRuleRestrictionDetails(ruleId: string): string {
  return `Restricted by sign-up rule: ${ruleId}`;
}
