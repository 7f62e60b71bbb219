import { describe, expect, it } from 'vitest';
import { PipelineContext, type TestProject } from '../e2e/harness/pipeline-context';

/**
 * Account pre-hijacking (issue 11): an address someone claimed without proving it must never block
 * or capture its real owner. And one mailbox is one sign-in account, whatever the letter case.
 */

async function emailedCode(ctx: PipelineContext, project: TestProject, email: string): Promise<{ nonce: string; code: string }> {
  const sent = await ctx.as(project, 'client', 'POST', '/api/v1/auth/otp/send-sign-in-code', { email });
  expect(sent.status).toBe(200);
  const outbox = await ctx.as(project, 'admin', 'GET', '/api/v1/internal/emails');
  const latest = (outbox.body.items as { to: string; body: string }[]).find((item) => item.to === email.toLowerCase());
  const code = /\b(\d{6})\b/.exec(latest?.body ?? '')?.[1];
  if (!code) throw new Error(`no code in the outbox for ${email}`);
  return { nonce: String(sent.body.nonce), code };
}

async function codeSignIn(ctx: PipelineContext, project: TestProject, email: string, accessToken?: string) {
  const code = await emailedCode(ctx, project, email);
  const response = accessToken
    ? await ctx.asUser(project, accessToken, 'POST', '/api/v1/auth/otp/sign-in', code)
    : await ctx.as(project, 'client', 'POST', '/api/v1/auth/otp/sign-in', code);
  expect(response.status).toBe(200);
  return { userId: String(response.body.user_id), accessToken: String(response.body.access_token) };
}

function passwordSignUp(ctx: PipelineContext, project: TestProject, email: string, password: string, accessToken?: string) {
  const body = { email, password };
  return accessToken
    ? ctx.asUser(project, accessToken, 'POST', '/api/v1/auth/password/sign-up', body)
    : ctx.as(project, 'client', 'POST', '/api/v1/auth/password/sign-up', body);
}

function passwordSignIn(ctx: PipelineContext, project: TestProject, email: string, password: string) {
  return ctx.as(project, 'client', 'POST', '/api/v1/auth/password/sign-in', { email, password });
}

/** Every sign-in channel of the address in the tenancy: who holds it, verified or not. */
async function signInHolders(ctx: PipelineContext, tenancyId: string, email: string): Promise<{ userId: string; isVerified: boolean }[]> {
  const result = await ctx.internal.query<{ userId: string; isVerified: boolean }>(
    `SELECT "projectUserId" AS "userId", "isVerified" FROM "ContactChannel"
     WHERE "tenancyId" = $1 AND type = 'EMAIL' AND "usedForAuth" = 'TRUE' AND lower(value) = lower($2)`,
    [tenancyId, email],
  );
  return result.rows;
}

describe('no account pre-hijack', () => {
  it('a channel added by someone else (even anonymous) neither blocks the owner’s sign-up nor keeps the owner from proving the address', async () => {
    await using ctx = await PipelineContext.open();
    const project = await ctx.createProject();
    const attacker = await ctx.as(project, 'client', 'POST', '/api/v1/auth/anonymous/sign-up', {});
    const planted = await ctx.asUser(project, String(attacker.body.access_token), 'POST', '/api/v1/contact-channels', {
      user_id: 'me',
      type: 'email',
      value: 'victim@example.com',
      used_for_auth: true,
    });
    expect(planted.status).toBe(201);

    // The victim signs up with a password: not 409; the planted claim no longer signs anyone in.
    const victim = await passwordSignUp(ctx, project, 'Victim@Example.com', 'the victim’s password');
    expect(victim.status).toBe(201);
    expect(victim.body.user_id).not.toBe(attacker.body.user_id);
    expect(await signInHolders(ctx, project.tenancyId, 'victim@example.com')).toEqual([{ userId: victim.body.user_id, isVerified: false }]);
    expect((await passwordSignIn(ctx, project, 'victim@example.com', 'the victim’s password')).body.user_id).toBe(victim.body.user_id);

    // Planted again through another account, the claim takes the unverified address from the victim …
    const again = await ctx.as(project, 'client', 'POST', '/api/v1/auth/anonymous/sign-up', {});
    const againToken = String(again.body.access_token);
    expect((await ctx.asUser(project, againToken, 'POST', '/api/v1/contact-channels', { user_id: 'me', type: 'email', value: 'victim@example.com', used_for_auth: true })).status).toBe(201);
    expect(await signInHolders(ctx, project.tenancyId, 'victim@example.com')).toEqual([{ userId: again.body.user_id, isVerified: false }]);
    // … but the victim, still signed in, proves it with a code and has it back, verified, in the same account.
    const proven = await codeSignIn(ctx, project, 'victim@example.com', String(victim.body.access_token));
    expect(proven.userId).toBe(victim.body.user_id);
    expect(await signInHolders(ctx, project.tenancyId, 'victim@example.com')).toEqual([{ userId: victim.body.user_id, isVerified: true }]);
    // The claimant the proof displaced is signed out everywhere; the victim's password works again.
    expect((await ctx.asUser(project, againToken, 'GET', '/api/v1/users/me')).body.code).toBe('SESSION_REVOKED');
    expect((await passwordSignIn(ctx, project, 'victim@example.com', 'the victim’s password')).body.user_id).toBe(victim.body.user_id);
    // Verified now, the address cannot be claimed again.
    const refused = await ctx.asUser(project, String(attacker.body.access_token), 'POST', '/api/v1/contact-channels', { user_id: 'me', type: 'email', value: 'VICTIM@example.com', used_for_auth: true });
    expect([refused.status, refused.body.code]).toEqual([409, 'CONTACT_CHANNEL_ALREADY_USED_FOR_AUTH_BY_SOMEONE_ELSE']);
  });

  it('a password sign-up with someone else’s address does not capture the owner: their code signs them into their own account', async () => {
    await using ctx = await PipelineContext.open();
    const project = await ctx.createProject();
    const attacker = await passwordSignUp(ctx, project, 'victim@example.com', 'attacker’s password');
    expect(attacker.status).toBe(201);
    const attackerRefresh = String(attacker.body.refresh_token);

    const victim = await codeSignIn(ctx, project, 'victim@example.com');
    expect(victim.userId).not.toBe(attacker.body.user_id);
    const me = await ctx.asUser(project, victim.accessToken, 'GET', '/api/v1/users/me');
    expect(me.body).toMatchObject({ id: victim.userId, primary_email: 'victim@example.com', primary_email_verified: true });

    // The attacker's password no longer opens anything with that address, and its sessions are over.
    expect((await passwordSignIn(ctx, project, 'victim@example.com', 'attacker’s password')).body.code).toBe('EMAIL_PASSWORD_MISMATCH');
    expect((await ctx.asUser(project, String(attacker.body.access_token), 'GET', '/api/v1/users/me')).body.code).toBe('SESSION_REVOKED');
    const refresh = await ctx.request('POST', '/api/v1/auth/sessions/current/refresh', {
      headers: { 'x-stack-project-id': project.id, 'x-stack-access-type': 'client', 'x-stack-publishable-client-key': project.publishableClientKey, 'x-stack-refresh-token': attackerRefresh },
    });
    expect(refresh.body.code).toBe('REFRESH_TOKEN_NOT_FOUND_OR_EXPIRED');

    // Proven, the address is the victim's alone: no second claim, and the next code lands in the same account.
    expect((await passwordSignUp(ctx, project, 'victim@example.com', 'attacker’s password')).body.code).toBe('USER_EMAIL_ALREADY_EXISTS');
    const attacker2 = await ctx.as(project, 'client', 'POST', '/api/v1/auth/anonymous/sign-up', {});
    const refused = await ctx.asUser(project, String(attacker2.body.access_token), 'POST', '/api/v1/contact-channels', { user_id: 'me', type: 'email', value: 'VICTIM@example.com', used_for_auth: true });
    expect([refused.status, refused.body.code]).toEqual([409, 'CONTACT_CHANNEL_ALREADY_USED_FOR_AUTH_BY_SOMEONE_ELSE']);
    expect((await codeSignIn(ctx, project, 'victim@example.com')).userId).toBe(victim.userId);
  });

  it('the signed-in holder proving its own address keeps its account (email verification)', async () => {
    await using ctx = await PipelineContext.open();
    const project = await ctx.createProject();
    const ada = await passwordSignUp(ctx, project, 'ada@example.com', 'a good password');
    const proven = await codeSignIn(ctx, project, 'ada@example.com', String(ada.body.access_token));
    expect(proven.userId).toBe(ada.body.user_id);
    expect(await signInHolders(ctx, project.tenancyId, 'ada@example.com')).toEqual([{ userId: ada.body.user_id, isVerified: true }]);
    // Her other session is still hers.
    expect((await ctx.asUser(project, String(ada.body.access_token), 'GET', '/api/v1/users/me')).status).toBe(200);
    expect((await passwordSignIn(ctx, project, 'ada@example.com', 'a good password')).body.user_id).toBe(ada.body.user_id);
  });
});

describe('one account per mailbox', () => {
  it('stores addresses lower-cased, so every spelling names one sign-in account', async () => {
    await using ctx = await PipelineContext.open();
    const project = await ctx.createProject();
    const serverUser = await ctx.createUser(project, { primary_email: 'Mixed@Example.com', primary_email_verified: true });
    expect((await ctx.as(project, 'server', 'GET', `/api/v1/users/${serverUser}`)).body.primary_email).toBe('mixed@example.com');

    expect((await passwordSignUp(ctx, project, 'mixed@example.com', 'a good password')).body.code).toBe('USER_EMAIL_ALREADY_EXISTS');
    const shouted = await ctx.as(project, 'server', 'POST', '/api/v1/users', { primary_email: 'MIXED@EXAMPLE.COM' });
    expect([shouted.status, shouted.body.code]).toEqual([409, 'USER_EMAIL_ALREADY_EXISTS']);
    const other = await ctx.createUser(project, {});
    const renamed = await ctx.as(project, 'server', 'PATCH', `/api/v1/users/${other}`, { primary_email: 'MiXeD@example.COM' });
    expect(renamed.body.code).toBe('USER_EMAIL_ALREADY_EXISTS');
    expect(await signInHolders(ctx, project.tenancyId, 'mixed@example.com')).toEqual([{ userId: serverUser, isVerified: true }]);
    // And the one account signs in whichever way the address is typed.
    expect((await codeSignIn(ctx, project, 'MIXED@example.com')).userId).toBe(serverUser);
  });

  it('keeps one sign-in account per mailbox while nobody has proven it, too', async () => {
    await using ctx = await PipelineContext.open();
    const project = await ctx.createProject();
    const first = await ctx.createUser(project, { primary_email: 'Mixed@Example.com' });
    const second = await passwordSignUp(ctx, project, 'mixed@example.com', 'a good password');
    expect(second.status).toBe(201);
    const third = await ctx.createUser(project, { primary_email: 'MIXED@EXAMPLE.COM' });
    const holders = await signInHolders(ctx, project.tenancyId, 'mixed@example.com');
    // The last claim holds it; the earlier accounts keep the address only as a contact channel.
    expect(holders).toEqual([{ userId: third, isVerified: false }]);
    const channels = await ctx.internal.query<{ value: string }>(`SELECT value FROM "ContactChannel" WHERE "tenancyId" = $1 AND type = 'EMAIL'`, [project.tenancyId]);
    expect(channels.rows.map((row) => row.value)).toEqual(['mixed@example.com', 'mixed@example.com', 'mixed@example.com']);
    expect(first).not.toBe(third);
  });
});
