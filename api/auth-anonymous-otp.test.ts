import { describe, expect, it } from 'vitest';
import { PipelineContext, type TestProject } from '../e2e/harness/pipeline-context';

async function sendCode(ctx: PipelineContext, project: TestProject, email: string): Promise<{ nonce: string; code: string }> {
  const sent = await ctx.as(project, 'client', 'POST', '/api/v1/auth/otp/send-sign-in-code', { email });
  expect(sent.status).toBe(200);
  // The development sender's outbox is how a person (or a test) reads the email.
  const outbox = await ctx.as(project, 'admin', 'GET', '/api/v1/internal/emails');
  const latest = (outbox.body.items as { to: string; body: string }[]).find((item) => item.to === email.toLowerCase());
  const code = /\b(\d{6})\b/.exec(latest?.body ?? '')?.[1];
  if (!code) throw new Error(`no code in the outbox for ${email}`);
  return { nonce: String(sent.body.nonce), code };
}

function otpSignIn(ctx: PipelineContext, project: TestProject, body: { nonce: string; code: string }, accessToken?: string) {
  return accessToken
    ? ctx.asUser(project, accessToken, 'POST', '/api/v1/auth/otp/sign-in', body)
    : ctx.as(project, 'client', 'POST', '/api/v1/auth/otp/sign-in', body);
}

describe('anonymous users', () => {
  it('signs up anonymously and keeps the id when upgrading to a password account', async () => {
    await using ctx = await PipelineContext.open();
    const project = await ctx.createProject();
    const anonymous = await ctx.as(project, 'client', 'POST', '/api/v1/auth/anonymous/sign-up', {});
    expect(anonymous.status).toBe(201);
    const token = String(anonymous.body.access_token);
    expect((await ctx.asUser(project, token, 'GET', '/api/v1/users/me')).body).toMatchObject({ is_anonymous: true, primary_email: null });

    const upgraded = await ctx.asUser(project, token, 'POST', '/api/v1/auth/password/sign-up', { email: 'now@example.com', password: 'a good password' });
    expect(upgraded.status).toBe(201);
    expect(upgraded.body.user_id).toBe(anonymous.body.user_id);
    const me = await ctx.asUser(project, String(upgraded.body.access_token), 'GET', '/api/v1/users/me');
    expect(me.body).toMatchObject({ id: anonymous.body.user_id, is_anonymous: false, primary_email: 'now@example.com' });
    expect(Number((await ctx.internal.query('SELECT count(*) FROM "ProjectUser"')).rows[0].count)).toBe(1);
  });

  it('is refused when the project turned it off', async () => {
    await using ctx = await PipelineContext.open();
    const project = await ctx.createProject();
    await ctx.setAuthConfig(project, { anonymous_enabled: false });
    expect((await ctx.as(project, 'client', 'POST', '/api/v1/auth/anonymous/sign-up', {})).body.code).toBe('ANONYMOUS_SIGN_UP_NOT_ENABLED');
  });
});

describe('sign-in with emailed codes', () => {
  it('creates a verified user on first sign-in and signs the same user in later', async () => {
    await using ctx = await PipelineContext.open();
    const project = await ctx.createProject();
    const first = await otpSignIn(ctx, project, await sendCode(ctx, project, 'Otp@Example.com'));
    expect(first.status).toBe(200);
    const me = await ctx.asUser(project, String(first.body.access_token), 'GET', '/api/v1/users/me');
    expect(me.body).toMatchObject({ primary_email: 'otp@example.com', primary_email_verified: true });
    const again = await otpSignIn(ctx, project, await sendCode(ctx, project, 'otp@example.com'));
    expect(again.body.user_id).toBe(first.body.user_id);
  });

  it('works once, expires after 10 minutes, and locks after five wrong tries', async () => {
    await using ctx = await PipelineContext.open();
    const project = await ctx.createProject();
    const used = await sendCode(ctx, project, 'a@example.com');
    expect((await otpSignIn(ctx, project, used)).status).toBe(200);
    expect((await otpSignIn(ctx, project, used)).body.code).toBe('VERIFICATION_CODE_ALREADY_USED');

    const stale = await sendCode(ctx, project, 'b@example.com');
    const lifetime = await ctx.internal.query<{ minutes: number }>(
      `SELECT extract(epoch FROM "expiresAt" - "createdAt") / 60 AS minutes FROM "OtpCode" WHERE id = $1`,
      [stale.nonce],
    );
    expect(Math.round(Number(lifetime.rows[0]?.minutes))).toBe(10);
    await ctx.internal.query(`UPDATE "OtpCode" SET "expiresAt" = now() - interval '1 second' WHERE id = $1`, [stale.nonce]);
    expect((await otpSignIn(ctx, project, stale)).body.code).toBe('VERIFICATION_CODE_EXPIRED');

    const guessed = await sendCode(ctx, project, 'c@example.com');
    const wrongCode = guessed.code === '000000' ? '111111' : '000000';
    for (let attempt = 0; attempt < 5; attempt++) {
      expect((await otpSignIn(ctx, project, { nonce: guessed.nonce, code: wrongCode })).body.code).toBe('VERIFICATION_CODE_INVALID');
    }
    // Locked: even the right code no longer works.
    expect((await otpSignIn(ctx, project, guessed)).body.code).toBe('VERIFICATION_CODE_LOCKED');
    expect((await otpSignIn(ctx, project, { nonce: '00000000-0000-4000-8000-000000000000', code: '123456' })).body.code).toBe('VERIFICATION_CODE_NOT_FOUND');
  });

  it('upgrades the signed-in anonymous user in place', async () => {
    await using ctx = await PipelineContext.open();
    const project = await ctx.createProject();
    const anonymous = await ctx.as(project, 'client', 'POST', '/api/v1/auth/anonymous/sign-up', {});
    const signedIn = await otpSignIn(ctx, project, await sendCode(ctx, project, 'up@example.com'), String(anonymous.body.access_token));
    expect(signedIn.body.user_id).toBe(anonymous.body.user_id);
    const me = await ctx.asUser(project, String(signedIn.body.access_token), 'GET', '/api/v1/users/me');
    expect(me.body).toMatchObject({ is_anonymous: false, primary_email: 'up@example.com', primary_email_verified: true });
  });

  it('validates callback URLs against trusted domains', async () => {
    await using ctx = await PipelineContext.open();
    const project = await ctx.createProject();
    const refused = await ctx.as(project, 'client', 'POST', '/api/v1/auth/otp/send-sign-in-code', { email: 'a@example.com', callback_url: 'https://evil.test/cb' });
    expect(refused.body.code).toBe('REDIRECT_URL_NOT_WHITELISTED');
    const nativeScheme = await ctx.as(project, 'client', 'POST', '/api/v1/auth/otp/send-sign-in-code', { email: 'a@example.com', callback_url: 'myapp://cb' });
    expect(nativeScheme.body.code).toBe('REDIRECT_URL_NOT_WHITELISTED');
  });
});
