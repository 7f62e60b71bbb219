import { storedProjectConfigSchema } from '../../schema/project-config';
import type { StoredSignUpRules } from '../../schema/sign-up-rule-config';
import { CompiledRuleCache } from '../../api/sign-up-rules/compiled-rule-cache';
import { compileRuleSet } from '../../api/sign-up-rules/rule-evaluator';
import { judgeSignUp } from '../../api/sign-up-rules/sign-up-gate';
import { percentile, report } from './bench-setup';

/**
 * `npm run bench:sign-up-rules`: what 100 sign-up rules add to one sign-up, in process and without
 * any service: reading them out of the stored config (zod), finding the compiled programs for this
 * version of them, and evaluating all 100 (none decides, so every rule runs: the worst case). A
 * match also costs one INSERT of its statistic, which is not measured here. Figures, not gates.
 */
const ruleCount = Number(process.env.BENCH_RULES ?? 100);
const signUps = Number(process.env.BENCH_SIGN_UPS ?? 20_000);

/** Conditions of the kinds admins write, none of which matches the generated addresses. */
function realisticRules(count: number): StoredSignUpRules {
  const shapes = [
    (n: number) => `emailDomain in ["disposable${n}.example", "trash${n}.example", "temp${n}.example"]`,
    (n: number) => `email.endsWith("@blocked${n}.example")`,
    (n: number) => `email.matches("^spam${n}[0-9]+@")`,
    (n: number) => `email.contains("+promo${n}") && authMethod == "password"`,
    (n: number) => `authMethod == "oauth" && oauthProvider == "provider${n}" && !emailDomain.startsWith("corp")`,
    (n: number) => `(emailDomain == "x${n}.example" || emailDomain == "y${n}.example") && email.startsWith("bot")`,
  ];
  const actions = ['reject', 'restrict', 'log', 'allow'] as const;
  return Object.fromEntries(
    Array.from({ length: count }, (_, n) => [
      `rule-${String(n).padStart(3, '0')}`,
      { enabled: true, displayName: `rule ${n}`, priority: n % 10, condition: shapes[n % shapes.length]!(n), action: { type: actions[n % actions.length]! } },
    ]),
  );
}

function timeEach(iterations: number, work: (index: number) => void): number[] {
  const samples: number[] = [];
  for (let index = 0; index < iterations; index++) {
    const started = performance.now();
    work(index);
    samples.push(performance.now() - started);
  }
  return samples.sort((a, b) => a - b);
}

const rules = realisticRules(ruleCount);
// The config as it sits in "Project".config (JSON), with and without the rules.
const storedWith = JSON.parse(JSON.stringify({ auth: { signUpRules: rules } })) as unknown;
const storedWithout = JSON.parse(JSON.stringify({ auth: {} })) as unknown;
const cache = new CompiledRuleCache();
const email = (index: number) => `user${index}@example${index % 50}.com`;

const compileSamples = timeEach(20, () => compileRuleSet(rules, 'allow'));
// Warm-up: the JIT, then measured runs.
const signUp = (index: number) => {
  const { auth } = storedProjectConfigSchema.parse(storedWith);
  const judgement = judgeSignUp(cache, 'bench-project', auth, { kind: 'new-user', authMethod: index % 3 === 0 ? 'oauth' : 'password', oauthProvider: 'apple', email: email(index) });
  if (judgement?.outcome.decision !== 'default-allow' || judgement.outcome.trace.length !== ruleCount) throw new Error('a rule matched: the bench must run every rule');
};
timeEach(2_000, signUp);
const withRules = timeEach(signUps, signUp);
const baseline = timeEach(signUps, () => void storedProjectConfigSchema.parse(storedWithout));
const evaluationOnly = (() => {
  const { auth } = storedProjectConfigSchema.parse(storedWith);
  return timeEach(signUps, (index) => void judgeSignUp(cache, 'bench-project', auth, { kind: 'new-user', authMethod: 'password', email: email(index) }));
})();

const ms = (value: number) => Number(value.toFixed(4));
report({
  rules: ruleCount,
  sign_ups: signUps,
  added_per_sign_up_p50_ms: ms(percentile(withRules, 50) - percentile(baseline, 50)),
  added_per_sign_up_p99_ms: ms(percentile(withRules, 99) - percentile(baseline, 50)),
  with_rules_p99_ms: ms(percentile(withRules, 99)),
  with_rules_max_ms: ms(withRules.at(-1)!),
  config_parse_without_rules_p99_ms: ms(percentile(baseline, 99)),
  evaluation_only_p50_ms: ms(percentile(evaluationOnly, 50)),
  evaluation_only_p99_ms: ms(percentile(evaluationOnly, 99)),
  compile_100_rules_once_per_version_p50_ms: ms(percentile(compileSamples, 50)),
  target_added_p99_ms: 1,
});
