import { Hono } from 'hono';
import { z } from 'zod';
import { signUpRulesDefaultActions } from '../../schema/sign-up-rule-config';
import type { ApiEnv } from '../api-env';
import { normaliseEmail } from '../channel-values';
import { parseBody } from '../parse-body';
import { loadProjectConfig } from '../project-config-store';
import { requireAccess } from '../project-auth';
import { signUpRulesInput, storedSignUpRules } from '../sign-up-rules/rule-input';
import { compileRuleSet, evaluateSignUpRules, isSignUpAllowed } from '../sign-up-rules/rule-evaluator';
import { signUpAuthMethods, signUpRuleContext } from '../sign-up-rules/sign-up-context';
import { buildTriggerStats } from '../sign-up-rules/trigger-stats';
import { loadTriggerCounts } from '../sign-up-rules/trigger-store';

/** A hypothetical sign-up, and optionally a draft rule set to try instead of the saved one. */
export const evaluateSignUpRulesBody = z.strictObject({
  email: z.string().max(254).optional(),
  auth_method: z.enum(signUpAuthMethods),
  /** Only meaningful with auth_method `oauth` (ignored otherwise, as at a real sign-up). */
  oauth_provider: z.string().max(64).optional(),
  /** A draft: evaluated instead of the saved rules, never saved. */
  sign_up_rules: signUpRulesInput.optional(),
  sign_up_rules_default_action: z.enum(signUpRulesDefaultActions).optional(),
});

export const signUpRuleRoutes = new Hono<ApiEnv>()
  /** Per-rule triggers of the last 48 UTC hours, stack-auth's shape. */
  .get('/internal/sign-up-rules-stats', requireAccess('admin'), async (c) => {
    const { db } = c.get('deps');
    const now = new Date();
    return c.json(buildTriggerStats(await loadTriggerCounts(db, c.get('project').tenancyId, now), now));
  })
  /**
   * A dry run: what the rules (saved, or a draft) would decide for a hypothetical sign-up, with the
   * fate of every rule. Writes nothing and records no statistic.
   */
  .post('/internal/sign-up-rules/evaluate', requireAccess('admin'), async (c) => {
    const { db } = c.get('deps');
    const body = await parseBody(c, evaluateSignUpRulesBody);
    const { auth } = await loadProjectConfig(db, c.get('project').id);
    const rules = body.sign_up_rules ? storedSignUpRules(body.sign_up_rules) : auth.signUpRules;
    const defaultAction = body.sign_up_rules_default_action ?? auth.signUpRulesDefaultAction;
    // Compiled afresh, not through the sign-up cache: a draft must not displace the live programs.
    const ruleSet = compileRuleSet(rules, defaultAction);
    const context = signUpRuleContext({
      authMethod: body.auth_method,
      email: body.email === undefined ? undefined : normaliseEmail(body.email),
      oauthProvider: body.oauth_provider,
    });
    const outcome = evaluateSignUpRules(ruleSet, context);
    const traceOf = new Map(outcome.trace.map((entry) => [entry.ruleId, entry]));
    return c.json({
      context: { email: context.email, email_domain: context.emailDomain, auth_method: context.authMethod, oauth_provider: context.oauthProvider },
      evaluations: ruleSet.rules.map(({ id, rule }) => {
        const entry = traceOf.get(id);
        return {
          rule_id: id,
          display_name: rule.displayName,
          enabled: rule.enabled,
          priority: rule.priority,
          condition: rule.condition,
          action: { type: rule.action.type, ...(rule.action.message !== undefined ? { message: rule.action.message } : {}) },
          status: entry?.status ?? 'not_reached',
          ...(entry?.error !== undefined ? { error: entry.error } : {}),
        };
      }),
      outcome: {
        should_allow: isSignUpAllowed(outcome),
        decision: outcome.decision,
        decision_rule_id: outcome.decisionRuleId,
        restricted_because_of_rule_id: outcome.restrictedByRuleId,
      },
    });
  });
