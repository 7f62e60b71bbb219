import type { AuthConfig } from '../../schema/project-config';
import type { StoredSignUpRules } from '../../schema/sign-up-rule-config';
import { compileRuleSet, type CompiledRuleSet } from './rule-evaluator';

type RuleConfig = Pick<AuthConfig, 'signUpRules' | 'signUpRulesDefaultAction'>;

/** Whether two stored rule sets are the same version: every rule with the same fields. Order does not matter (rules are sorted when compiled). */
function sameRules(a: StoredSignUpRules, b: StoredSignUpRules): boolean {
  const ids = Object.keys(a);
  if (ids.length !== Object.keys(b).length) return false;
  for (const id of ids) {
    const left = a[id]!;
    const right = b[id];
    if (
      !right ||
      left.enabled !== right.enabled ||
      left.priority !== right.priority ||
      left.condition !== right.condition ||
      left.displayName !== right.displayName ||
      left.action.type !== right.action.type ||
      left.action.message !== right.action.message
    ) {
      return false;
    }
  }
  return true;
}

/**
 * Compiled rule sets, one per project, kept while that project's rules stay the same: a sign-up
 * compiles nothing unless the rules changed since the last one. The version is the rules' stored
 * content itself (compared field by field: cheaper than serialising them on every sign-up), so a
 * change saved by any API process is picked up at the next sign-up here.
 */
export class CompiledRuleCache {
  readonly #entries = new Map<string, { config: RuleConfig; ruleSet: CompiledRuleSet }>();

  /** `maxProjects`: beyond it the least recently used project's programs are dropped. */
  constructor(private readonly maxProjects = 1_000) {}

  ruleSetFor(projectId: string, auth: RuleConfig): CompiledRuleSet {
    const cached = this.#entries.get(projectId);
    // Map order is insertion order: delete and set again to mark it recently used.
    this.#entries.delete(projectId);
    const current =
      cached && cached.config.signUpRulesDefaultAction === auth.signUpRulesDefaultAction && sameRules(cached.config.signUpRules, auth.signUpRules)
        ? cached
        : { config: { signUpRules: auth.signUpRules, signUpRulesDefaultAction: auth.signUpRulesDefaultAction }, ruleSet: compileRuleSet(auth.signUpRules, auth.signUpRulesDefaultAction) };
    this.#entries.set(projectId, current);
    if (this.#entries.size > this.maxProjects) this.#entries.delete(this.#entries.keys().next().value!);
    return current.ruleSet;
  }

  get size(): number {
    return this.#entries.size;
  }
}
