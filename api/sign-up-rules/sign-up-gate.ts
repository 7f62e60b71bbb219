import type { AuthConfig } from '../../schema/project-config';
import { knownErrors } from '../api-error';
import type { Database, RequestProject } from '../api-env';
import type { CompiledRuleCache } from './compiled-rule-cache';
import { isSignUpAllowed, evaluateSignUpRules, type SignUpRulesOutcome } from './rule-evaluator';
import { signUpRuleContextFor, type AccountCreation, type SignUpRuleContext } from './sign-up-context';
import { recordRuleTriggers } from './trigger-store';

/**
 * What the sign-up routes call: judge an account creation by the project's rules before anything
 * is written, then record the matches (also of a rejected sign-up) and refuse or restrict.
 */
export interface SignUpJudgement {
  context: SignUpRuleContext;
  outcome: SignUpRulesOutcome;
}

/** The rules' verdict on this account creation; undefined when it is not a sign-up the rules judge. */
export function judgeSignUp(cache: CompiledRuleCache, projectId: string, auth: AuthConfig, creation: AccountCreation): SignUpJudgement | undefined {
  const context = signUpRuleContextFor(creation);
  if (!context) return undefined;
  return { context, outcome: evaluateSignUpRules(cache.ruleSetFor(projectId, auth), context) };
}

/** 403 SIGN_UP_REJECTED (a generic message: the rule and its message stay the admins' own) when the rules reject it. */
export function refuseRejectedSignUp(judgement: SignUpJudgement | undefined): void {
  if (judgement && !isSignUpAllowed(judgement.outcome)) throw knownErrors.signUpRejected();
}

/** The rule that restricts the new user, if one does. */
export function restrictingRuleOf(judgement: SignUpJudgement | undefined): string | undefined {
  return judgement?.outcome.restrictedByRuleId ?? undefined;
}

export async function recordJudgement(db: Database, project: Pick<RequestProject, 'id' | 'tenancyId'>, judgement: SignUpJudgement | undefined): Promise<void> {
  if (judgement) await recordRuleTriggers(db, project, judgement.context, judgement.outcome);
}
