import { describe, expect, it } from 'vitest';
import { PipelineContext, type TestProject } from '../e2e/harness/pipeline-context';

function signIn(ctx: PipelineContext, project: TestProject, email: string, password: string, ip?: string) {
  return ctx.request('POST', '/api/v1/auth/password/sign-in', {
    body: { email, password },
    headers: {
      'x-stack-project-id': project.id,
      'x-stack-access-type': 'client',
      'x-stack-publishable-client-key': project.publishableClientKey,
      ...(ip ? { 'x-forwarded-for': ip } : {}),
    },
  });
}

describe('password auth', () => {
  it('signs up, signs in, and answers mistakes with stable codes', async () => {
    await using ctx = await PipelineContext.open();
    const project = await ctx.createProject();
    const signUp = await ctx.as(project, 'client', 'POST', '/api/v1/auth/password/sign-up', { email: 'Ada@Example.com', password: 'correct horse' });
    expect(signUp.status).toBe(201);
    expect(Object.keys(signUp.body).sort()).toEqual(['access_token', 'refresh_token', 'user_id']);

    const stored = await ctx.internal.query<{ passwordHash: string }>('SELECT "passwordHash" FROM "PasswordCredential" WHERE "projectUserId" = $1', [signUp.body.user_id]);
    expect(stored.rows[0]?.passwordHash).toMatch(/^scrypt\$/);
    expect(stored.rows[0]?.passwordHash).not.toContain('correct horse');

    // Once the address is proven, it is Ada's alone.
    await ctx.internal.query(`UPDATE "ContactChannel" SET "isVerified" = true WHERE "projectUserId" = $1`, [signUp.body.user_id]);
    const duplicate = await ctx.as(project, 'client', 'POST', '/api/v1/auth/password/sign-up', { email: 'ada@example.com', password: 'another one' });
    expect([duplicate.status, duplicate.body.code]).toEqual([409, 'USER_EMAIL_ALREADY_EXISTS']);
    const short = await ctx.as(project, 'client', 'POST', '/api/v1/auth/password/sign-up', { email: 'b@example.com', password: 'short' });
    expect([short.status, short.body.code]).toEqual([400, 'PASSWORD_TOO_SHORT']);
    const long = await ctx.as(project, 'client', 'POST', '/api/v1/auth/password/sign-up', { email: 'b@example.com', password: 'x'.repeat(300) });
    expect(long.body.code).toBe('PASSWORD_TOO_LONG');

    const ok = await signIn(ctx, project, 'ADA@example.com', 'correct horse');
    expect(ok.status).toBe(200);
    expect(ok.body.user_id).toBe(signUp.body.user_id);
    const wrong = await signIn(ctx, project, 'ada@example.com', 'wrong horse');
    expect([wrong.status, wrong.body.code]).toEqual([400, 'EMAIL_PASSWORD_MISMATCH']);
    const unknown = await signIn(ctx, project, 'nobody@example.com', 'correct horse');
    expect(unknown.body.code).toBe('EMAIL_PASSWORD_MISMATCH');
  });

  it('rate-limits sign-in attempts per email', async () => {
    await using ctx = await PipelineContext.open({ SIGN_IN_RATE_LIMIT_PER_EMAIL: '5' });
    const project = await ctx.createProject();
    await ctx.as(project, 'client', 'POST', '/api/v1/auth/password/sign-up', { email: 'target@example.com', password: 'the real password' });
    for (let attempt = 0; attempt < 5; attempt++) expect((await signIn(ctx, project, 'target@example.com', `guess ${attempt}`)).status).toBe(400);
    const limited = await signIn(ctx, project, 'target@example.com', 'the real password');
    expect([limited.status, limited.body.code]).toEqual([429, 'RATE_LIMITED']);
    expect(Number(limited.headers.get('retry-after'))).toBeGreaterThan(0);
    // Another account is not locked by someone hammering this one.
    expect((await signIn(ctx, project, 'other@example.com', 'whatever')).status).toBe(400);
  });

  it('rate-limits sign-in attempts per client IP', async () => {
    await using ctx = await PipelineContext.open({ TRUST_PROXY: 'true', SIGN_IN_RATE_LIMIT_PER_IP: '3' });
    const project = await ctx.createProject();
    for (let attempt = 0; attempt < 3; attempt++) expect((await signIn(ctx, project, `user${attempt}@example.com`, 'pw pw pw pw', '203.0.113.7')).status).toBe(400);
    const limited = await signIn(ctx, project, 'user9@example.com', 'pw pw pw pw', '203.0.113.7');
    expect([limited.status, limited.body.code]).toEqual([429, 'RATE_LIMITED']);
    expect((await signIn(ctx, project, 'user9@example.com', 'pw pw pw pw', '198.51.100.1')).status).toBe(400);
  });

  it('follows the project’s settings: disabled password auth, untrusted callback URLs', async () => {
    await using ctx = await PipelineContext.open();
    const project = await ctx.createProject();
    await ctx.setAuthConfig(project, { trusted_domains: ['https://app.example.com'] });
    const untrusted = await ctx.as(project, 'client', 'POST', '/api/v1/auth/password/sign-up', {
      email: 'c@example.com',
      password: 'long enough',
      verification_callback_url: 'https://evil.example.net/verify',
    });
    expect(untrusted.body.code).toBe('REDIRECT_URL_NOT_WHITELISTED');
    const trusted = await ctx.as(project, 'client', 'POST', '/api/v1/auth/password/sign-up', {
      email: 'c@example.com',
      password: 'long enough',
      verification_callback_url: 'https://app.example.com/verify',
    });
    expect(trusted.status).toBe(201);
    await ctx.setAuthConfig(project, { password_enabled: false });
    const disabled = await signIn(ctx, project, 'c@example.com', 'long enough');
    expect(disabled.body.code).toBe('PASSWORD_AUTHENTICATION_NOT_ENABLED');
  });
});
