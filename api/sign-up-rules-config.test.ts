import { describe, expect, it } from 'vitest';
import { PipelineContext, type TestProject } from '../e2e/harness/pipeline-context';

function rule(condition: string, action: string, extra: Record<string, unknown> = {}) {
  return { condition, action: { type: action }, ...extra };
}

async function saveRules(ctx: PipelineContext, project: TestProject, rules: Record<string, unknown>, defaultAction?: string) {
  return ctx.as(project, 'admin', 'PATCH', '/api/v1/internal/config', {
    auth: { sign_up_rules: rules, ...(defaultAction ? { sign_up_rules_default_action: defaultAction } : {}) },
  });
}

async function triggerCount(ctx: PipelineContext): Promise<number> {
  return Number((await ctx.internal.query('SELECT count(*) FROM "SignUpRuleTrigger"')).rows[0].count);
}

describe('sign-up rules in the project config', () => {
  it('saves rules and lists them by priority (desc), then id; a later PATCH replaces the set', async () => {
    await using ctx = await PipelineContext.open();
    const project = await ctx.createProject();
    const saved = await saveRules(
      ctx,
      project,
      {
        'b-watch': rule('true', 'log', { priority: 5, display_name: 'Watch everything' }),
        'a-watch': rule('true', 'log', { priority: 5 }),
        disposable: rule('emailDomain in ["mailinator.com"]', 'reject', { priority: 10, action: { type: 'reject', message: 'disposable' } }),
        low: rule('false', 'allow', { enabled: false }),
      },
      'reject',
    );
    expect(saved.status).toBe(200);
    const read = await ctx.as(project, 'admin', 'GET', '/api/v1/internal/config');
    const auth = read.body.auth as { sign_up_rules: Record<string, unknown>; sign_up_rules_default_action: string };
    expect(Object.keys(auth.sign_up_rules)).toEqual(['disposable', 'a-watch', 'b-watch', 'low']);
    expect(auth.sign_up_rules.disposable).toEqual({
      enabled: true,
      display_name: '',
      priority: 10,
      condition: 'emailDomain in ["mailinator.com"]',
      action: { type: 'reject', message: 'disposable' },
    });
    expect(auth.sign_up_rules.low).toMatchObject({ enabled: false, priority: 0 });
    expect(auth.sign_up_rules_default_action).toBe('reject');
    // Ordered in the JSON text itself, for clients that read it as a stream.
    expect(JSON.stringify(read.body).indexOf('"disposable"')).toBeLessThan(JSON.stringify(read.body).indexOf('"a-watch"'));

    // Other auth fields leave the rules alone; a new set replaces the old one.
    await ctx.setAuthConfig(project, { otp_enabled: false });
    expect(Object.keys(((await ctx.as(project, 'admin', 'GET', '/api/v1/internal/config')).body.auth as { sign_up_rules: object }).sign_up_rules)).toHaveLength(4);
    await saveRules(ctx, project, { only: rule('true', 'log') });
    const replaced = (await ctx.as(project, 'admin', 'GET', '/api/v1/internal/config')).body.auth as { sign_up_rules: object; sign_up_rules_default_action: string };
    expect(Object.keys(replaced.sign_up_rules)).toEqual(['only']);
    expect(replaced.sign_up_rules_default_action).toBe('reject');
  });

  it('refuses a condition that does not compile with 400 SCHEMA_ERROR naming the rule and the position, and keeps the saved rules', async () => {
    await using ctx = await PipelineContext.open();
    const project = await ctx.createProject();
    await saveRules(ctx, project, { keep: rule('true', 'log') });
    const cases: [Record<string, unknown>, string, RegExp][] = [
      [{ broken: rule('email.startsWith(', 'reject') }, 'auth.sign_up_rules.broken.condition', /line 1, column \d+/],
      [{ typo: rule('email == "a" ||\n  emial.endsWith("x")', 'reject') }, 'auth.sign_up_rules.typo.condition', /line 2, column 3: unknown name "emial"/],
      [{ empty: rule('', 'reject') }, 'auth.sign_up_rules.empty.condition', /.+/],
      [{ '123': rule('true', 'log') }, 'auth.sign_up_rules.123', /rule id "123": a letter or _/],
      [{ 'has space': rule('true', 'log') }, 'auth.sign_up_rules.has space', /rule id/],
      [{ bad_action: rule('true', 'ban') }, 'auth.sign_up_rules.bad_action.action.type', /.+/],
      [{ negative: rule('true', 'log', { priority: -1 }) }, 'auth.sign_up_rules.negative.priority', /.+/],
      [{ fraction: rule('true', 'log', { priority: 1.5 }) }, 'auth.sign_up_rules.fraction.priority', /.+/],
      [{ extra: { ...rule('true', 'log'), unexpected: 1 } }, 'auth.sign_up_rules.extra', /.+/],
    ];
    for (const [rules, path, message] of cases) {
      const response = await saveRules(ctx, project, rules);
      expect([response.status, response.body.code], path).toEqual([400, 'SCHEMA_ERROR']);
      const issues = (response.body.details as { issues: { path: string; message: string }[] }).issues;
      expect(issues.some((issue) => issue.path.startsWith(path) && message.test(issue.message)), JSON.stringify(issues)).toBe(true);
    }
    const tooMany = Object.fromEntries(Array.from({ length: 201 }, (_, index) => [`r${index}`, rule('true', 'log')]));
    expect((await saveRules(ctx, project, tooMany)).status).toBe(400);
    const badDefault = await ctx.as(project, 'admin', 'PATCH', '/api/v1/internal/config', { auth: { sign_up_rules_default_action: 'restrict' } });
    expect(badDefault.status).toBe(400);
    const read = await ctx.as(project, 'admin', 'GET', '/api/v1/internal/config');
    expect(Object.keys((read.body.auth as { sign_up_rules: object }).sign_up_rules)).toEqual(['keep']);
  });
});

describe('sign-up rule statistics', () => {
  it('answers in stack-auth’s shape: every rule that fired, 48 UTC hours oldest → current, totals by action', async () => {
    await using ctx = await PipelineContext.open();
    const project = await ctx.createProject();
    const other = await ctx.createProject('other');
    await saveRules(ctx, project, {
      watch: rule('true', 'log', { priority: 9 }),
      limit: rule('emailDomain == "limited.example"', 'restrict', { priority: 5 }),
      block: rule('emailDomain == "blocked.example"', 'reject', { priority: 1 }),
      never: rule('false', 'reject'),
    });
    await saveRules(ctx, other, { watch: rule('true', 'log') });
    const signUp = (target: TestProject, email: string) => ctx.as(target, 'client', 'POST', '/api/v1/auth/password/sign-up', { email, password: 'a good password' });
    expect((await signUp(project, 'a@ok.example')).status).toBe(201);
    expect((await signUp(project, 'b@limited.example')).status).toBe(201);
    expect((await signUp(project, 'c@blocked.example')).status).toBe(403);
    expect((await signUp(other, 'd@ok.example')).status).toBe(201);
    // Triggers recorded two and fifty hours ago (the latter outside the window).
    await ctx.internal.query(
      `INSERT INTO "SignUpRuleTrigger" ("projectId", "tenancyId", "ruleId", action, outcome, "authMethod", "triggeredAt")
       VALUES ($1, $2, 'block', 'reject', 'matched', 'otp', (now() AT TIME ZONE 'UTC') - interval '2 hours'),
              ($1, $2, 'old', 'allow', 'matched', 'otp', (now() AT TIME ZONE 'UTC') - interval '50 hours')`,
      [project.id, project.tenancyId],
    );

    const stats = await ctx.as(project, 'admin', 'GET', '/api/v1/internal/sign-up-rules-stats');
    expect(stats.status).toBe(200);
    const body = stats.body as {
      rule_triggers: { rule_id: string; total_count: number; hourly_counts: { hour: string; count: number }[] }[];
      total_triggers: number;
      triggers_by_action: Record<string, number>;
    };
    expect(body.total_triggers).toBe(6);
    expect(body.triggers_by_action).toEqual({ allow: 0, reject: 2, restrict: 1, log: 3 });
    expect(body.rule_triggers.map((entry) => [entry.rule_id, entry.total_count])).toEqual([
      ['watch', 3],
      ['block', 2],
      ['limit', 1],
    ]);
    const currentHour = new Date();
    currentHour.setUTCMinutes(0, 0, 0);
    for (const entry of body.rule_triggers) {
      expect(entry.hourly_counts).toHaveLength(48);
      expect(entry.hourly_counts.at(-1)!.hour).toBe(currentHour.toISOString());
      expect(entry.hourly_counts[0]!.hour).toBe(new Date(currentHour.getTime() - 47 * 3_600_000).toISOString());
      expect(entry.hourly_counts.reduce((sum, hour) => sum + hour.count, 0)).toBe(entry.total_count);
    }
    const block = body.rule_triggers.find((entry) => entry.rule_id === 'block')!;
    expect(block.hourly_counts.at(-1)!.count).toBe(1);
    expect(block.hourly_counts.at(-3)!.count).toBe(1);

    const otherStats = await ctx.as(other, 'admin', 'GET', '/api/v1/internal/sign-up-rules-stats');
    expect(otherStats.body.total_triggers).toBe(1);
  });

  it('admins only: client and server keys get 401 INSUFFICIENT_ACCESS_TYPE, no project 400 ACCESS_TYPE_WITHOUT_PROJECT_ID', async () => {
    await using ctx = await PipelineContext.open();
    const project = await ctx.createProject();
    for (const [method, path] of [['GET', '/api/v1/internal/sign-up-rules-stats'], ['POST', '/api/v1/internal/sign-up-rules/evaluate']] as const) {
      const body = method === 'POST' ? { auth_method: 'password' } : undefined;
      for (const accessType of ['client', 'server'] as const) {
        const response = await ctx.as(project, accessType, method, path, body);
        expect([response.status, response.body.code, response.headers.get('x-stack-known-error')]).toEqual([401, 'INSUFFICIENT_ACCESS_TYPE', 'INSUFFICIENT_ACCESS_TYPE']);
      }
      const withoutProject = await ctx.request(method, path, {
        ...(body ? { body } : {}),
        headers: { 'x-stack-access-type': 'admin', 'x-stack-super-secret-admin-key': project.superSecretAdminKey },
      });
      expect([withoutProject.status, withoutProject.body.code]).toEqual([400, 'ACCESS_TYPE_WITHOUT_PROJECT_ID']);
    }
  });
});

describe('sign-up rules dry run', () => {
  it('returns the decision and every rule’s fate, writes nothing and records no statistic', async () => {
    await using ctx = await PipelineContext.open();
    const project = await ctx.createProject();
    await saveRules(ctx, project, {
      off: rule('true', 'reject', { enabled: false, priority: 20 }),
      broken: rule('email.matches(emailDomain + "(")', 'reject', { priority: 15 }),
      watch: rule('authMethod == "oauth"', 'log', { priority: 10 }),
      apple: rule('oauthProvider == "apple"', 'restrict', { priority: 9, action: { type: 'restrict', message: 'review Apple sign-ups' } }),
      block: rule('emailDomain == "blocked.example"', 'reject', { priority: 5 }),
      later: rule('true', 'log', { priority: 1 }),
    });
    const dryRun = await ctx.as(project, 'admin', 'POST', '/api/v1/internal/sign-up-rules/evaluate', {
      email: ' Eve@Blocked.Example ',
      auth_method: 'oauth',
      oauth_provider: 'apple',
    });
    expect(dryRun.status).toBe(200);
    expect(dryRun.body.context).toEqual({ email: 'eve@blocked.example', email_domain: 'blocked.example', auth_method: 'oauth', oauth_provider: 'apple' });
    expect(dryRun.body.outcome).toEqual({ should_allow: false, decision: 'reject', decision_rule_id: 'block', restricted_because_of_rule_id: 'apple' });
    const evaluations = dryRun.body.evaluations as { rule_id: string; status: string; error?: string; action: { message?: string } }[];
    expect(evaluations.map((entry) => [entry.rule_id, entry.status])).toEqual([
      ['off', 'disabled'],
      ['broken', 'error'],
      ['watch', 'matched'],
      ['apple', 'matched'],
      ['block', 'matched'],
      ['later', 'not_reached'],
    ]);
    expect(evaluations[1]!.error).toMatch(/regexp/);
    expect(evaluations[3]!.action.message).toBe('review Apple sign-ups');

    // A draft rule set, tried before it is saved.
    const draft = await ctx.as(project, 'admin', 'POST', '/api/v1/internal/sign-up-rules/evaluate', {
      email: 'ada@corp.example',
      auth_method: 'password',
      oauth_provider: 'apple',
      sign_up_rules: { staff: rule('emailDomain == "corp.example" && oauthProvider == ""', 'allow') },
      sign_up_rules_default_action: 'reject',
    });
    expect(draft.body.outcome).toEqual({ should_allow: true, decision: 'allow', decision_rule_id: 'staff', restricted_because_of_rule_id: null });
    const stranger = await ctx.as(project, 'admin', 'POST', '/api/v1/internal/sign-up-rules/evaluate', {
      auth_method: 'otp',
      sign_up_rules: { staff: rule('emailDomain == "corp.example"', 'allow') },
      sign_up_rules_default_action: 'reject',
    });
    expect(stranger.body.outcome).toMatchObject({ should_allow: false, decision: 'default-reject', decision_rule_id: null });
    const badDraft = await ctx.as(project, 'admin', 'POST', '/api/v1/internal/sign-up-rules/evaluate', {
      auth_method: 'otp',
      sign_up_rules: { typo: rule('emial == ""', 'allow') },
    });
    expect([badDraft.status, badDraft.body.code]).toEqual([400, 'SCHEMA_ERROR']);

    expect(await triggerCount(ctx)).toBe(0);
    const saved = (await ctx.as(project, 'admin', 'GET', '/api/v1/internal/config')).body.auth as { sign_up_rules: object; sign_up_rules_default_action: string };
    expect(Object.keys(saved.sign_up_rules)).not.toContain('staff');
    expect(saved.sign_up_rules_default_action).toBe('allow');
    expect(Number((await ctx.internal.query('SELECT count(*) FROM "ProjectUser"')).rows[0].count)).toBe(0);
  });
});
