import { z } from 'zod';
import { signUpRuleActionTypes, signUpRuleIdSchema, type StoredSignUpRules } from '../../schema/sign-up-rule-config';
import { compileCondition } from './condition-compiler';
import { compareRules } from './rule-evaluator';

/** At most this many rules per project: each sign-up evaluates all of them. */
export const maxSignUpRules = 200;

/**
 * One rule as the API takes it. The condition is compiled right here, so a config (or a draft in a
 * dry run) with a condition that does not compile is 400 SCHEMA_ERROR naming the rule and where.
 */
export const signUpRuleInput = z.strictObject({
  enabled: z.boolean().default(true),
  display_name: z.string().max(200).default(''),
  /** Higher runs first; ties run in order of rule id. */
  priority: z.int().min(0).max(1_000_000).default(0),
  condition: z
    .string()
    .min(1)
    .max(4_000)
    .superRefine((condition, context) => {
      const compiled = compileCondition(condition);
      if (!compiled.ok) {
        context.addIssue({ code: 'custom', message: `the condition does not compile at line ${compiled.line}, column ${compiled.column}: ${compiled.problem}` });
      }
    }),
  action: z.strictObject({
    type: z.enum(signUpRuleActionTypes),
    /** For admins only: never shown to the user signing up, nor to client or server keys. */
    message: z.string().max(1_000).optional(),
  }),
});

/** Replaces the whole set: a rule left out is deleted. Ids are checked here to say why one is refused. */
export const signUpRulesInput = z.record(z.string(), signUpRuleInput).superRefine((rules, context) => {
  const ids = Object.keys(rules);
  if (ids.length > maxSignUpRules) context.addIssue({ code: 'custom', message: `at most ${maxSignUpRules} sign-up rules` });
  for (const id of ids) {
    const parsed = signUpRuleIdSchema.safeParse(id);
    if (!parsed.success) context.addIssue({ code: 'custom', path: [id], message: `rule id ${JSON.stringify(id.slice(0, 80))}: ${parsed.error.issues[0]?.message ?? 'not allowed'}` });
  }
});

export type SignUpRulesInput = z.infer<typeof signUpRulesInput>;

export function storedSignUpRules(input: SignUpRulesInput): StoredSignUpRules {
  return Object.fromEntries(
    Object.entries(input).map(([id, rule]) => [
      id,
      {
        enabled: rule.enabled,
        displayName: rule.display_name,
        priority: rule.priority,
        condition: rule.condition,
        action: { type: rule.action.type, ...(rule.action.message !== undefined ? { message: rule.action.message } : {}) },
      },
    ]),
  );
}

/** The rules as the API shows them (admins only), in evaluation order. */
export function signUpRulesView(rules: StoredSignUpRules): Record<string, unknown> {
  const ordered = Object.entries(rules).sort(([aId, a], [bId, b]) => compareRules({ id: aId, priority: a.priority }, { id: bId, priority: b.priority }));
  return Object.fromEntries(
    ordered.map(([id, rule]) => [
      id,
      {
        enabled: rule.enabled,
        display_name: rule.displayName,
        priority: rule.priority,
        condition: rule.condition,
        action: { type: rule.action.type, ...(rule.action.message !== undefined ? { message: rule.action.message } : {}) },
      },
    ]),
  );
}
