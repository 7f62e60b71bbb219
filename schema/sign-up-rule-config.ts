import { z } from 'zod';

/**
 * Sign-up rules as stored in the project config (DESIGN.md "Sign-up rules (CEL)", stack-auth's
 * `auth.signUpRules`). Conditions are CEL source text; they are compiled (and refused when they do
 * not compile) when the config is saved, and compiled again, once per version, where they run.
 */

export const signUpRuleActionTypes = ['allow', 'reject', 'restrict', 'log'] as const;
export type SignUpRuleActionType = (typeof signUpRuleActionTypes)[number];

export const signUpRulesDefaultActions = ['allow', 'reject'] as const;
export type SignUpRulesDefaultAction = (typeof signUpRulesDefaultActions)[number];

/**
 * Rule ids start with a letter or `_`: an all-digit key would be listed first by every JSON object
 * in JavaScript, whatever order the API writes it in, and the API lists rules in evaluation order.
 */
export const signUpRuleIdSchema = z.string().regex(/^[A-Za-z_][A-Za-z0-9_-]{0,63}$/, 'a letter or _, then letters, digits, _ and - (at most 64)');

export const storedSignUpRuleSchema = z.object({
  enabled: z.boolean(),
  displayName: z.string(),
  /** Higher runs first; ties run in order of rule id. */
  priority: z.number().int().min(0),
  /** CEL over `email`, `emailDomain`, `authMethod`, `oauthProvider`; must evaluate to a bool. */
  condition: z.string(),
  action: z.object({
    type: z.enum(signUpRuleActionTypes),
    /** For the admins' own notes: never shown to the user signing up, nor to client or server keys. */
    message: z.string().optional(),
  }),
});

export type StoredSignUpRule = z.infer<typeof storedSignUpRuleSchema>;

export const storedSignUpRulesSchema = z.record(signUpRuleIdSchema, storedSignUpRuleSchema);
export type StoredSignUpRules = z.infer<typeof storedSignUpRulesSchema>;
