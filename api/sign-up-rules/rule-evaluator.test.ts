import { describe, expect, it } from 'vitest';
import type { SignUpRuleActionType, StoredSignUpRules } from '../../schema/sign-up-rule-config';
import { restrictedReason } from '../restrictions';
import { compileRuleSet, evaluateSignUpRules, isSignUpAllowed, type SignUpDecision } from './rule-evaluator';
import { signUpRuleContext, signUpRuleContextFor, type SignUpFacts } from './sign-up-context';

type RuleSpec = [id: string, priority: number, condition: string, action: SignUpRuleActionType, enabled?: boolean];

function rules(specs: RuleSpec[]): StoredSignUpRules {
  return Object.fromEntries(
    specs.map(([id, priority, condition, action, enabled = true]) => [id, { enabled, displayName: id, priority, condition, action: { type: action, message: `note of ${id}` } }]),
  );
}

function evaluate(specs: RuleSpec[], facts: SignUpFacts, defaultAction: 'allow' | 'reject' = 'allow') {
  return evaluateSignUpRules(compileRuleSet(rules(specs), defaultAction), signUpRuleContext(facts));
}

const password = (email: string): SignUpFacts => ({ authMethod: 'password', email });

interface Case {
  name: string;
  rules: RuleSpec[];
  facts: SignUpFacts;
  defaultAction?: 'allow' | 'reject';
  decision: SignUpDecision;
  decisionRuleId?: string | null;
  restrictedBy?: string | null;
  matched?: string[];
}

const cases: Case[] = [
  { name: 'no rules: default allow', rules: [], facts: password('a@x.com'), decision: 'default-allow', decisionRuleId: null, matched: [] },
  { name: 'no rules: default reject', rules: [], facts: password('a@x.com'), defaultAction: 'reject', decision: 'default-reject', matched: [] },
  {
    name: 'higher priority runs first',
    rules: [['low', 1, 'true', 'allow'], ['high', 5, 'true', 'reject']],
    facts: password('a@x.com'),
    decision: 'reject',
    decisionRuleId: 'high',
    matched: ['high'],
  },
  {
    name: 'equal priority: ties broken by id',
    rules: [['b-rule', 3, 'true', 'reject'], ['a-rule', 3, 'true', 'allow']],
    facts: password('a@x.com'),
    decision: 'allow',
    decisionRuleId: 'a-rule',
    matched: ['a-rule'],
  },
  {
    name: 'ids compare by code unit, not locale (Z before a)',
    rules: [['a', 0, 'true', 'reject'], ['Z', 0, 'true', 'allow']],
    facts: password('a@x.com'),
    decision: 'allow',
    decisionRuleId: 'Z',
  },
  {
    name: 'stops after allow',
    rules: [['allow-all', 9, 'true', 'allow'], ['reject-all', 1, 'true', 'reject'], ['log-all', 0, 'true', 'log']],
    facts: password('a@x.com'),
    decision: 'allow',
    matched: ['allow-all'],
  },
  {
    name: 'stops after reject',
    rules: [['reject-all', 9, 'true', 'reject'], ['allow-all', 1, 'true', 'allow'], ['log-all', 0, 'true', 'log']],
    facts: password('a@x.com'),
    decision: 'reject',
    matched: ['reject-all'],
  },
  {
    name: 'continues after log',
    rules: [['watch', 9, 'true', 'log'], ['block', 1, 'true', 'reject']],
    facts: password('a@x.com'),
    decision: 'reject',
    decisionRuleId: 'block',
    matched: ['watch', 'block'],
  },
  {
    name: 'continues after restrict, then the default',
    rules: [['limit', 9, 'true', 'restrict'], ['watch', 1, 'true', 'log']],
    facts: password('a@x.com'),
    decision: 'default-allow',
    restrictedBy: 'limit',
    matched: ['limit', 'watch'],
  },
  {
    name: 'only the first restricting rule is recorded',
    rules: [['first', 9, 'true', 'restrict'], ['second', 5, 'true', 'restrict'], ['ok', 1, 'true', 'allow']],
    facts: password('a@x.com'),
    decision: 'allow',
    restrictedBy: 'first',
    matched: ['first', 'second', 'ok'],
  },
  {
    name: 'restrict then reject: rejected (the restriction is moot)',
    rules: [['limit', 9, 'true', 'restrict'], ['block', 1, 'true', 'reject']],
    facts: password('a@x.com'),
    decision: 'reject',
    restrictedBy: 'limit',
    matched: ['limit', 'block'],
  },
  {
    name: 'disabled rules are skipped',
    rules: [['block', 9, 'true', 'reject', false], ['watch', 1, 'true', 'log']],
    facts: password('a@x.com'),
    decision: 'default-allow',
    matched: ['watch'],
  },
  {
    name: 'default reject with an allow-listed domain: listed domain allowed',
    rules: [['staff', 0, 'emailDomain == "corp.example"', 'allow']],
    facts: password('Ada@Corp.Example'),
    defaultAction: 'reject',
    decision: 'allow',
    decisionRuleId: 'staff',
  },
  {
    name: 'default reject with an allow-listed domain: other domain rejected',
    rules: [['staff', 0, 'emailDomain == "corp.example"', 'allow']],
    facts: password('ada@corp.example.evil.com'),
    defaultAction: 'reject',
    decision: 'default-reject',
    matched: [],
  },
  { name: 'contains', rules: [['r', 0, 'email.contains("+spam")', 'reject']], facts: password('a+spam@x.com'), decision: 'reject' },
  { name: 'contains (no match)', rules: [['r', 0, 'email.contains("+spam")', 'reject']], facts: password('a@x.com'), decision: 'default-allow' },
  { name: 'startsWith', rules: [['r', 0, 'email.startsWith("admin@")', 'reject']], facts: password('admin@x.com'), decision: 'reject' },
  { name: 'startsWith (no match)', rules: [['r', 0, 'email.startsWith("admin@")', 'reject']], facts: password('sysadmin@x.com'), decision: 'default-allow' },
  { name: 'endsWith', rules: [['r', 0, 'email.endsWith("@mailinator.com")', 'reject']], facts: password('x@mailinator.com'), decision: 'reject' },
  { name: 'endsWith (no match)', rules: [['r', 0, 'email.endsWith("@mailinator.com")', 'reject']], facts: password('x@mailinator.com.au'), decision: 'default-allow' },
  { name: 'matches (RE2)', rules: [['r', 0, 'email.matches("^[0-9]+@")', 'reject']], facts: password('12345@x.com'), decision: 'reject' },
  { name: 'matches (no match)', rules: [['r', 0, 'email.matches("^[0-9]+@")', 'reject']], facts: password('a12@x.com'), decision: 'default-allow' },
  { name: 'in a list', rules: [['r', 0, 'emailDomain in ["mailinator.com", "tempmail.org"]', 'reject']], facts: password('a@tempmail.org'), decision: 'reject' },
  { name: 'in a list (no match)', rules: [['r', 0, 'emailDomain in ["mailinator.com", "tempmail.org"]', 'reject']], facts: password('a@tempmail.org.uk'), decision: 'default-allow' },
  { name: 'negation', rules: [['r', 0, '!email.endsWith("@corp.example")', 'reject']], facts: password('a@gmail.com'), decision: 'reject' },
  { name: 'negation (no match)', rules: [['r', 0, '!email.endsWith("@corp.example")', 'reject']], facts: password('a@corp.example'), decision: 'default-allow' },
  {
    name: 'nested && and ||',
    rules: [['r', 0, '(authMethod == "password" && (emailDomain == "a.com" || emailDomain == "b.com")) || (authMethod == "otp" && email.startsWith("x"))', 'reject']],
    facts: password('q@b.com'),
    decision: 'reject',
  },
  {
    name: 'nested && and || (no branch holds)',
    rules: [['r', 0, '(authMethod == "password" && (emailDomain == "a.com" || emailDomain == "b.com")) || (authMethod == "otp" && email.startsWith("x"))', 'reject']],
    facts: { authMethod: 'otp', email: 'q@b.com' },
    decision: 'default-allow',
  },
  {
    name: 'OAuth: authMethod and oauthProvider',
    rules: [['apple-only', 0, 'authMethod == "oauth" && oauthProvider == "apple"', 'restrict']],
    facts: { authMethod: 'oauth', oauthProvider: 'apple', email: 'a@privaterelay.appleid.com' },
    decision: 'default-allow',
    restrictedBy: 'apple-only',
  },
  {
    name: 'oauthProvider is empty unless OAuth',
    rules: [['apple-only', 0, 'oauthProvider == "apple"', 'reject']],
    facts: { authMethod: 'password', oauthProvider: 'apple', email: 'a@x.com' },
    decision: 'default-allow',
  },
  {
    name: 'no email: email and emailDomain are empty',
    rules: [['no-address', 0, 'email == "" && emailDomain == ""', 'reject']],
    facts: { authMethod: 'oauth', oauthProvider: 'apple' },
    decision: 'reject',
  },
  {
    name: 'a bad regex at run time does not match, evaluation goes on',
    rules: [['broken', 9, 'email.matches(emailDomain + "(")', 'reject'], ['watch', 1, 'true', 'log']],
    facts: password('a@x.com'),
    decision: 'default-allow',
    matched: ['watch'],
  },
  {
    name: 'a type error does not match',
    rules: [['broken', 9, 'email + 1 == "a"', 'reject']],
    facts: password('a@x.com'),
    decision: 'default-allow',
    matched: [],
  },
  {
    name: 'a condition that is not a bool does not match',
    rules: [['not-bool', 9, 'email', 'reject']],
    facts: password('a@x.com'),
    decision: 'default-allow',
  },
  {
    name: 'a stored condition that no longer compiles does not match',
    rules: [['stale', 9, 'email.startsWith(', 'reject']],
    facts: password('a@x.com'),
    decision: 'default-allow',
  },
];

describe('sign-up rule evaluation', () => {
  it.each(cases)('$name', (testCase) => {
    const outcome = evaluate(testCase.rules, testCase.facts, testCase.defaultAction);
    expect(outcome.decision).toBe(testCase.decision);
    if (testCase.decisionRuleId !== undefined) expect(outcome.decisionRuleId).toBe(testCase.decisionRuleId);
    expect(outcome.restrictedByRuleId).toBe(testCase.restrictedBy ?? null);
    if (testCase.matched) expect(outcome.matches.map((match) => match.ruleId)).toEqual(testCase.matched);
  });

  it('traces every rule in evaluation order: matched, not matched, disabled, error with why, not reached', () => {
    const outcome = evaluate(
      [
        ['e-broken', 8, 'email.matches("(")', 'reject'],
        ['a-off', 9, 'true', 'reject', false],
        ['c-miss', 7, 'email == "nobody"', 'reject'],
        ['d-watch', 6, 'true', 'log'],
        ['f-decide', 5, 'true', 'allow'],
        ['g-late', 1, 'true', 'reject'],
        ['h-late-off', 0, 'true', 'reject', false],
      ],
      password('a@x.com'),
    );
    expect(outcome.trace.map(({ ruleId, status }) => [ruleId, status])).toEqual([
      ['a-off', 'disabled'],
      ['e-broken', 'error'],
      ['c-miss', 'not_matched'],
      ['d-watch', 'matched'],
      ['f-decide', 'matched'],
      ['g-late', 'not_reached'],
      ['h-late-off', 'disabled'],
    ]);
    expect(outcome.trace[1]?.error).toContain('missing closing )');
    expect(outcome.errors).toEqual([{ ruleId: 'e-broken', action: 'reject', problem: expect.stringContaining('regexp') }]);
    expect(outcome.matches).toEqual([
      { ruleId: 'd-watch', action: 'log' },
      { ruleId: 'f-decide', action: 'allow' },
    ]);
  });

  it('isSignUpAllowed: allow and default-allow go ahead, reject and default-reject do not', () => {
    expect(isSignUpAllowed(evaluate([], password('a@x.com')))).toBe(true);
    expect(isSignUpAllowed(evaluate([], password('a@x.com'), 'reject'))).toBe(false);
    expect(isSignUpAllowed(evaluate([['r', 0, 'true', 'allow']], password('a@x.com'), 'reject'))).toBe(true);
    expect(isSignUpAllowed(evaluate([['r', 0, 'true', 'reject']], password('a@x.com')))).toBe(false);
  });
});

describe('which account creations the rules judge', () => {
  it('anonymous creation is not judged; its upgrade is, with the method it upgrades with', () => {
    expect(signUpRuleContextFor({ kind: 'anonymous-user' })).toBeUndefined();
    expect(signUpRuleContextFor({ kind: 'anonymous-upgrade', authMethod: 'otp', email: ' Ada@X.com ' })).toEqual({
      email: 'ada@x.com',
      emailDomain: 'x.com',
      authMethod: 'otp',
      oauthProvider: '',
    });
    const upgraded = evaluate([['no-otp', 0, 'authMethod == "otp"', 'reject']], { authMethod: 'otp', email: 'a@x.com' });
    expect(upgraded.decision).toBe('reject');
  });

  it('server-created users and sign-ins of existing users are not judged; new users are', () => {
    expect(signUpRuleContextFor({ kind: 'server-created-user' })).toBeUndefined();
    expect(signUpRuleContextFor({ kind: 'existing-user-sign-in' })).toBeUndefined();
    expect(signUpRuleContextFor({ kind: 'new-user', authMethod: 'oauth', oauthProvider: 'Apple', email: 'a@b.c@d.example' })).toEqual({
      email: 'a@b.c@d.example',
      emailDomain: 'd.example',
      authMethod: 'oauth',
      oauthProvider: 'apple',
    });
  });
});

describe('a rule restriction and email verification', () => {
  // The user a restricting rule created: restrictedByAdmin, as an admin's restriction would be.
  const restrictedUser = (primaryEmailVerified: boolean) => ({ isAnonymous: false, primaryEmailVerified, restrictedByAdmin: true });

  it('email_not_verified takes precedence over the rule’s restriction until the email is verified', () => {
    const outcome = evaluate([['limit', 0, 'emailDomain == "x.com"', 'restrict']], password('a@x.com'));
    expect(outcome.restrictedByRuleId).toBe('limit');
    expect(restrictedReason(restrictedUser(false), true)).toEqual({ type: 'email_not_verified' });
    expect(restrictedReason(restrictedUser(true), true)).toEqual({ type: 'restricted_by_administrator' });
    expect(restrictedReason(restrictedUser(false), false)).toEqual({ type: 'restricted_by_administrator' });
  });
});
