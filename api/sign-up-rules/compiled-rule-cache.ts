import type { AuthConfig } from '../../schema/project-config';
import { compileRuleSet, type CompiledRuleSet } from './rule-evaluator';

/**
 * Compiled rule sets, one per project, kept while that project's rules stay the same: a sign-up
 * compiles nothing unless the rules changed since the last one. The version is the rules' stored
 * text itself, so a change saved by any API process is picked up at the next sign-up here.
 */
export class CompiledRuleCache {
  readonly #entries = new Map<string, { version: string; ruleSet: CompiledRuleSet }>();

  /** `maxProjects`: beyond it the least recently used project's programs are dropped. */
  constructor(private readonly maxProjects = 1_000) {}

  ruleSetFor(projectId: string, auth: Pick<AuthConfig, 'signUpRules' | 'signUpRulesDefaultAction'>): CompiledRuleSet {
    const version = JSON.stringify([auth.signUpRulesDefaultAction, auth.signUpRules]);
    const cached = this.#entries.get(projectId);
    // Map order is insertion order: delete and set again to mark it recently used.
    this.#entries.delete(projectId);
    const entry = cached?.version === version ? cached : { version, ruleSet: compileRuleSet(auth.signUpRules, auth.signUpRulesDefaultAction) };
    this.#entries.set(projectId, entry);
    if (this.#entries.size > this.maxProjects) this.#entries.delete(this.#entries.keys().next().value!);
    return entry.ruleSet;
  }

  get size(): number {
    return this.#entries.size;
  }
}
