import { describe, expect, it } from 'vitest';
import { compileCondition } from './condition-compiler';
import { CompiledRuleCache } from './compiled-rule-cache';
import { signUpRuleContext } from './sign-up-context';

describe('compiling a condition', () => {
  it.each([
    ['email.endsWith("@x.com")'],
    ['emailDomain in ["a.com", "b.com"] && !(authMethod == "oauth")'],
    ['size(email) > 3 && type(email) == string'],
    ['oauthProvider == "apple" || email.matches("^[a-z]+@")'],
  ])('compiles %s', (source) => {
    expect(compileCondition(source).ok).toBe(true);
  });

  it.each([
    ['email.startsWith(', 1, 'syntax error'],
    ['email ==\n  "a" &&', 2, 'syntax error'],
    ['emial.endsWith("@x.com")', 1, 'unknown name "emial"'],
    ['email == "a" ||\n   domain == "x"', 2, 'unknown name "domain"'],
    ['["a.com"].exists(d, emailDomain == d)', 1, 'macros that iterate'],
    ['email == "x" ||\n  [1].all(n, n > 0)', 2, 'macros that iterate'],
    [`${'('.repeat(20_000)}true${')'.repeat(20_000)}`, 1, ''],
  ])('refuses %j, naming the line', (source, line, problem) => {
    const result = compileCondition(source);
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.line).toBe(line);
    expect(result.column).toBeGreaterThanOrEqual(1);
    expect(result.problem).toContain(problem);
  });

  // Nested comprehensions over list literals fit in the 4,000-character limit and would run
  // ~10^80 steps synchronously in the API process every project shares.
  it('refuses iterating macros, so no condition can freeze the process', () => {
    const nested = `${'[0,1,2,3,4,5,6,7,8,9].map(a, '.repeat(60)}1${')'.repeat(60)} == []`;
    const started = performance.now();
    const result = compileCondition(nested);
    expect(result).toMatchObject({ ok: false, problem: expect.stringContaining('macros that iterate') });
    expect(performance.now() - started).toBeLessThan(1_000);
  });

  it('names the column of an unknown name', () => {
    const result = compileCondition('email == "a" || domian == "x"');
    expect(result).toMatchObject({ ok: false, line: 1, column: 17 });
  });

  it('a compiled pattern is reused across evaluations, a bad one fails every time', () => {
    const matches = compileCondition('email.matches("^[a-z]+@x[.]com$")');
    const broken = compileCondition('email.matches(emailDomain + "(")');
    if (!matches.ok || !broken.ok) throw new Error('does not compile');
    const context = (email: string) => signUpRuleContext({ authMethod: 'password', email });
    expect([matches.evaluate(context('ada@x.com')), matches.evaluate(context('ada1@x.com')), matches.evaluate(context('bob@x.com'))]).toEqual([
      { kind: 'value', matched: true },
      { kind: 'value', matched: false },
      { kind: 'value', matched: true },
    ]);
    expect(broken.evaluate(context('a@x.com')).kind).toBe('error');
    expect(broken.evaluate(context('a@x.com')).kind).toBe('error');
  });

  it('a hostile pattern cannot backtrack for long (RE2, linear time)', () => {
    const result = compileCondition('email.matches("^(a+)+$")');
    if (!result.ok) throw new Error(result.problem);
    const started = performance.now();
    expect(result.evaluate(signUpRuleContext({ authMethod: 'password', email: `${'a'.repeat(5_000)}!` }))).toEqual({ kind: 'value', matched: false });
    expect(performance.now() - started).toBeLessThan(2_000);
  });
});

describe('compiled rule cache', () => {
  const auth = (condition: string) => ({
    signUpRules: { r: { enabled: true, displayName: '', priority: 0, condition, action: { type: 'reject' as const } } },
    signUpRulesDefaultAction: 'allow' as const,
  });

  it('compiles once per version of a project’s rules', () => {
    const cache = new CompiledRuleCache();
    const first = cache.ruleSetFor('p1', auth('email == "a"'));
    expect(cache.ruleSetFor('p1', auth('email == "a"'))).toBe(first);
    const changed = cache.ruleSetFor('p1', auth('email == "b"'));
    expect(changed).not.toBe(first);
    expect(cache.ruleSetFor('p1', { ...auth('email == "b"'), signUpRulesDefaultAction: 'reject' })).not.toBe(changed);
  });

  it('a new version is any changed field, an added or removed rule; equal content read afresh is the same version', () => {
    const cache = new CompiledRuleCache();
    const base = auth('true');
    const first = cache.ruleSetFor('p1', base);
    expect(cache.ruleSetFor('p1', JSON.parse(JSON.stringify(base)) as typeof base)).toBe(first);
    const variants: Parameters<CompiledRuleCache['ruleSetFor']>[1][] = [
      { ...base, signUpRules: { r: { ...base.signUpRules.r, enabled: false } } },
      { ...base, signUpRules: { r: { ...base.signUpRules.r, priority: 3 } } },
      { ...base, signUpRules: { r: { ...base.signUpRules.r, action: { type: 'log' as const } } } },
      { ...base, signUpRules: { r: { ...base.signUpRules.r, action: { type: 'reject' as const, message: 'm' } } } },
      { ...base, signUpRules: { ...base.signUpRules, s: base.signUpRules.r } },
      { ...base, signUpRules: { s: base.signUpRules.r } },
    ];
    for (const variant of variants) {
      cache.ruleSetFor('p1', base);
      expect(cache.ruleSetFor('p1', variant), JSON.stringify(variant)).not.toBe(cache.ruleSetFor('p1', base));
    }
  });

  it('keeps at most maxProjects, dropping the least recently used', () => {
    const cache = new CompiledRuleCache(2);
    const one = cache.ruleSetFor('p1', auth('true'));
    cache.ruleSetFor('p2', auth('true'));
    cache.ruleSetFor('p1', auth('true'));
    cache.ruleSetFor('p3', auth('true'));
    expect(cache.size).toBe(2);
    expect(cache.ruleSetFor('p1', auth('true'))).toBe(one);
  });
});
