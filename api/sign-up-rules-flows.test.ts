import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { exportJWK, generateKeyPair, SignJWT, type CryptoKey } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PipelineContext, type ApiResponse, type TestProject } from '../e2e/harness/pipeline-context';

/**
 * Sign-up rules on every flow that creates an account: judged on password sign-up, a code for a new
 * address, a new Apple identity and anonymous upgrades; never on anonymous creation, server-created
 * users, or sign-ins of existing users. Rule messages and conditions carry canaries that no client
 * or server response may show.
 */

const messageCanary = 'zq9rule-message';
const conditionCanary = 'zq9condition';

let server: Server;
let jwksUrl: string;
let appleKey: CryptoKey;

beforeAll(async () => {
  const pair = await generateKeyPair('RS256', { extractable: true });
  appleKey = pair.privateKey;
  const jwks = JSON.stringify({ keys: [{ ...(await exportJWK(pair.publicKey)), kid: 'apple-test-key', alg: 'RS256', use: 'sig' }] });
  server = createServer((_request, response) => response.writeHead(200, { 'content-type': 'application/json' }).end(jwks));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  jwksUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}/auth/keys`;
});

afterAll(async () => {
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

function appleIdToken(claims: Record<string, unknown>): Promise<string> {
  return new SignJWT({ email_verified: 'true', ...claims })
    .setProtectedHeader({ alg: 'RS256', kid: 'apple-test-key' })
    .setIssuer('https://appleid.apple.com')
    .setAudience('com.example.app')
    .setIssuedAt()
    .setExpirationTime('5m')
    .sign(appleKey);
}

/** A rule whose message and condition both carry a canary. */
function rule(condition: string, action: string, priority = 0) {
  return { condition: `(${condition}) && "${conditionCanary}" != ""`, priority, action: { type: action, message: `${messageCanary} ${action}` } };
}

async function openProject(rules: Record<string, unknown>, auth: Record<string, unknown> = {}): Promise<{ ctx: PipelineContext; project: TestProject }> {
  const ctx = await PipelineContext.open({ APPLE_JWKS_URL: jwksUrl });
  const project = await ctx.createProject();
  await ctx.setAuthConfig(project, { sign_up_rules: rules, apple: { enabled: true, bundle_ids: ['com.example.app'] }, ...auth });
  return { ctx, project };
}

/** Every response a client or server key gets must be free of the admins' rule text. */
function expectNoRuleText(response: ApiResponse): ApiResponse {
  const text = JSON.stringify(response.body) + JSON.stringify([...response.headers.entries()]);
  expect(text).not.toContain(messageCanary);
  expect(text).not.toContain(conditionCanary);
  return response;
}

async function countRows(ctx: PipelineContext): Promise<Record<string, number>> {
  const counts: Record<string, number> = {};
  for (const table of ['ProjectUser', 'ContactChannel', 'PasswordCredential', 'AuthSession', 'RefreshToken', 'OAuthAccount']) {
    counts[table] = Number((await ctx.internal.query(`SELECT count(*) FROM "${table}"`)).rows[0].count);
  }
  return counts;
}

async function triggers(ctx: PipelineContext): Promise<{ ruleId: string; action: string; outcome: string; authMethod: string; oauthProvider: string }[]> {
  return (await ctx.internal.query(`SELECT "ruleId", action, outcome, "authMethod", "oauthProvider" FROM "SignUpRuleTrigger" ORDER BY "triggeredAt", "ruleId"`)).rows;
}

const passwordSignUp = (ctx: PipelineContext, project: TestProject, email: string, accessToken?: string) =>
  accessToken
    ? ctx.asUser(project, accessToken, 'POST', '/api/v1/auth/password/sign-up', { email, password: 'a good password' }).then(expectNoRuleText)
    : ctx.as(project, 'client', 'POST', '/api/v1/auth/password/sign-up', { email, password: 'a good password' }).then(expectNoRuleText);

async function sendCode(ctx: PipelineContext, project: TestProject, email: string): Promise<{ nonce: string; code: string }> {
  const sent = expectNoRuleText(await ctx.as(project, 'client', 'POST', '/api/v1/auth/otp/send-sign-in-code', { email }));
  const outbox = await ctx.as(project, 'admin', 'GET', '/api/v1/internal/emails');
  const latest = (outbox.body.items as { to: string; body: string }[]).find((item) => item.to === email);
  const code = /\b(\d{6})\b/.exec(latest?.body ?? '')?.[1];
  if (!code) throw new Error(`no code for ${email}`);
  return { nonce: String(sent.body.nonce), code };
}

const otpSignIn = (ctx: PipelineContext, project: TestProject, code: { nonce: string; code: string }, accessToken?: string) =>
  (accessToken ? ctx.asUser(project, accessToken, 'POST', '/api/v1/auth/otp/sign-in', code) : ctx.as(project, 'client', 'POST', '/api/v1/auth/otp/sign-in', code)).then(
    expectNoRuleText,
  );

const serverUser = async (ctx: PipelineContext, project: TestProject, userId: string) =>
  expectNoRuleText(await ctx.as(project, 'server', 'GET', `/api/v1/users/${userId}`)).body;

describe('sign-up rules: reject', () => {
  it('password sign-up: 403 SIGN_UP_REJECTED with the generic message, nothing written, the match recorded', async () => {
    const { ctx, project } = await openProject({ block: rule('emailDomain == "blocked.example"', 'reject') });
    await using _ = ctx;
    const before = await countRows(ctx);
    const refused = await passwordSignUp(ctx, project, 'Eve@Blocked.Example');
    expect([refused.status, refused.body.code, refused.headers.get('x-stack-known-error')]).toEqual([403, 'SIGN_UP_REJECTED', 'SIGN_UP_REJECTED']);
    expect(refused.body.error).toBe('Your sign up was rejected. Please contact us for more information.');
    expect(await countRows(ctx)).toEqual(before);
    expect(await triggers(ctx)).toEqual([{ ruleId: 'block', action: 'reject', outcome: 'matched', authMethod: 'password', oauthProvider: '' }]);
    expect((await passwordSignUp(ctx, project, 'ada@fine.example')).status).toBe(201);
  });

  it('restrict then reject: rejected, nothing created; both matches recorded', async () => {
    const { ctx, project } = await openProject({ limit: rule('true', 'restrict', 9), block: rule('true', 'reject', 1) });
    await using _ = ctx;
    const before = await countRows(ctx);
    expect((await passwordSignUp(ctx, project, 'a@x.example')).status).toBe(403);
    expect((await otpSignIn(ctx, project, await sendCode(ctx, project, 'b@x.example'))).status).toBe(403);
    expect(await countRows(ctx)).toEqual(before);
    expect((await triggers(ctx)).map((row) => `${row.ruleId}/${row.authMethod}`).sort()).toEqual(['block/otp', 'block/password', 'limit/otp', 'limit/password']);
  });

  it('OTP sign-up of a new user: refused, the code rolled back with everything else', async () => {
    const { ctx, project } = await openProject({ 'no-otp': rule('authMethod == "otp"', 'reject') });
    await using _ = ctx;
    const before = await countRows(ctx);
    const code = await sendCode(ctx, project, 'new@x.example');
    expect((await otpSignIn(ctx, project, code)).body.code).toBe('SIGN_UP_REJECTED');
    expect(await countRows(ctx)).toEqual(before);
    expect((await ctx.internal.query('SELECT "usedAt" FROM "OtpCode" WHERE id = $1', [code.nonce])).rows).toEqual([{ usedAt: null }]);
    expect((await triggers(ctx)).map((row) => row.ruleId)).toEqual(['no-otp']);
  });

  it('Apple new user: refused by authMethod and oauthProvider, nothing written', async () => {
    const { ctx, project } = await openProject({ 'no-apple': rule('authMethod == "oauth" && oauthProvider == "apple"', 'reject') });
    await using _ = ctx;
    const before = await countRows(ctx);
    const refused = expectNoRuleText(await ctx.as(project, 'client', 'POST', '/api/v1/auth/oauth/callback/apple/native', { id_token: await appleIdToken({ sub: 'apple-1', email: 'a@x.example' }) }));
    expect([refused.status, refused.body.code]).toEqual([403, 'SIGN_UP_REJECTED']);
    expect(await countRows(ctx)).toEqual(before);
    expect(await triggers(ctx)).toEqual([{ ruleId: 'no-apple', action: 'reject', outcome: 'matched', authMethod: 'oauth', oauthProvider: 'apple' }]);
    // Matches are analytics events too, for admins' own queries.
    const events = await ctx.internal.query(`SELECT type, data FROM "AnalyticsEvent" WHERE "projectId" = $1 AND type = 'sign_up_rule_match'`, [project.id]);
    expect(events.rows).toEqual([{ type: 'sign_up_rule_match', data: { rule_id: 'no-apple', action: 'reject', auth_method: 'oauth', oauth_provider: 'apple' } }]);
  });

  it('default reject lets only the allow-listed domain sign up', async () => {
    const { ctx, project } = await openProject({ staff: rule('emailDomain == "corp.example"', 'allow') }, { sign_up_rules_default_action: 'reject' });
    await using _ = ctx;
    expect((await passwordSignUp(ctx, project, 'ada@corp.example')).status).toBe(201);
    expect((await passwordSignUp(ctx, project, 'eve@corp.example.net')).body.code).toBe('SIGN_UP_REJECTED');
    // An Apple address Apple does not vouch for is no address to the rules: default reject.
    const unverified = await ctx.as(project, 'client', 'POST', '/api/v1/auth/oauth/callback/apple/native', {
      id_token: await appleIdToken({ sub: 'apple-2', email: 'mallory@corp.example', email_verified: 'false' }),
    });
    expect(unverified.body.code).toBe('SIGN_UP_REJECTED');
  });
});

describe('sign-up rules: restrict and log', () => {
  it('restrict: created with restricted_by_admin, private details naming the rule, public reason null', async () => {
    const { ctx, project } = await openProject({ limit: rule('emailDomain == "limited.example"', 'restrict', 5), watch: rule('true', 'log', 1) });
    await using _ = ctx;
    const signedUp = await passwordSignUp(ctx, project, 'lim@limited.example');
    expect(signedUp.status).toBe(201);
    const me = expectNoRuleText(await ctx.asUser(project, String(signedUp.body.access_token), 'GET', '/api/v1/users/me')).body;
    expect(me).toMatchObject({ restricted_by_admin: true, restricted_by_admin_reason: null, is_restricted: true, restricted_reason: { type: 'restricted_by_administrator' } });
    expect(me).not.toHaveProperty('restricted_by_admin_private_details');
    expect(await serverUser(ctx, project, String(signedUp.body.user_id))).toMatchObject({
      restricted_by_admin: true,
      restricted_by_admin_reason: null,
      restricted_by_admin_private_details: 'Restricted by sign-up rule: limit',
    });
    const listed = expectNoRuleText(await ctx.as(project, 'server', 'GET', '/api/v1/users?include_restricted=true'));
    expect((listed.body.items as { id: string }[]).map((user) => user.id)).toContain(signedUp.body.user_id);

    const otp = await otpSignIn(ctx, project, await sendCode(ctx, project, 'otp@limited.example'));
    expect(await serverUser(ctx, project, String(otp.body.user_id))).toMatchObject({ restricted_by_admin: true, restricted_by_admin_private_details: 'Restricted by sign-up rule: limit' });
    const apple = await ctx.as(project, 'client', 'POST', '/api/v1/auth/oauth/callback/apple/native', { id_token: await appleIdToken({ sub: 'apple-3', email: 'apple@limited.example' }) });
    expect(await serverUser(ctx, project, String(apple.body.user_id))).toMatchObject({ restricted_by_admin: true, restricted_by_admin_private_details: 'Restricted by sign-up rule: limit' });

    const free = await passwordSignUp(ctx, project, 'free@fine.example');
    expect(await serverUser(ctx, project, String(free.body.user_id))).toMatchObject({ restricted_by_admin: false, restricted_by_admin_private_details: null });
    const recorded = await triggers(ctx);
    expect(recorded.filter((row) => row.ruleId === 'limit').map((row) => row.authMethod).sort()).toEqual(['oauth', 'otp', 'password']);
    expect(recorded.filter((row) => row.ruleId === 'watch')).toHaveLength(4);
  });

  it('email_not_verified takes precedence over the rule’s restriction until the email is verified', async () => {
    const { ctx, project } = await openProject({ limit: rule('true', 'restrict') }, { require_email_verification: true });
    await using _ = ctx;
    const signedUp = await passwordSignUp(ctx, project, 'ada@x.example');
    const token = String(signedUp.body.access_token);
    expect((await ctx.asUser(project, token, 'GET', '/api/v1/users/me')).body.restricted_reason).toEqual({ type: 'email_not_verified' });
    // Proving the address while signed in verifies it: not a sign-up, so no second match.
    expect((await otpSignIn(ctx, project, await sendCode(ctx, project, 'ada@x.example'), token)).status).toBe(200);
    expect((await ctx.asUser(project, token, 'GET', '/api/v1/users/me')).body).toMatchObject({
      primary_email_verified: true,
      restricted_reason: { type: 'restricted_by_administrator' },
    });
    expect(await triggers(ctx)).toHaveLength(1);
  });

  it('an evaluation error makes the rule not match (recorded as an error), never a 5xx', async () => {
    const { ctx, project } = await openProject({ broken: rule('email.matches(emailDomain + "(")', 'reject', 9), watch: rule('true', 'log') });
    await using _ = ctx;
    const signedUp = await passwordSignUp(ctx, project, 'ada@x.example');
    expect(signedUp.status).toBe(201);
    expect((await triggers(ctx)).map((row) => [row.ruleId, row.outcome])).toEqual([
      ['broken', 'error'],
      ['watch', 'matched'],
    ]);
    const stats = await ctx.as(project, 'admin', 'GET', '/api/v1/internal/sign-up-rules-stats');
    expect(stats.body).toMatchObject({ total_triggers: 1, evaluation_errors: [{ rule_id: 'broken', total_count: 1 }] });
  });
});

describe('sign-up rules: which flows', () => {
  it('never judge anonymous creation, server-created users, or sign-ins of existing users', async () => {
    const { ctx, project } = await openProject({ everything: rule('true', 'reject') });
    await using _ = ctx;
    // Existing users, created before the rules by the server (which the rules never judge).
    const serverCreated = expectNoRuleText(await ctx.as(project, 'server', 'POST', '/api/v1/users', { primary_email: 'old@x.example', primary_email_verified: true }));
    expect(serverCreated.status).toBe(201);
    // Its owner signs in with a code: a sign-in, not a sign-up.
    expect((await otpSignIn(ctx, project, await sendCode(ctx, project, 'old@x.example'))).status).toBe(200);
    const anonymous = expectNoRuleText(await ctx.as(project, 'client', 'POST', '/api/v1/auth/anonymous/sign-up', {}));
    expect(anonymous.status).toBe(201);
    expect(await triggers(ctx)).toEqual([]);

    // The anonymous user's upgrade is a sign-up: refused, and it stays anonymous.
    const upgrade = await passwordSignUp(ctx, project, 'anon@x.example', String(anonymous.body.access_token));
    expect(upgrade.body.code).toBe('SIGN_UP_REJECTED');
    expect((await ctx.asUser(project, String(anonymous.body.access_token), 'GET', '/api/v1/users/me')).body).toMatchObject({ is_anonymous: true, primary_email: null });
    expect(await triggers(ctx)).toHaveLength(1);
  });

  it('existing password and Apple accounts sign in after a rule that rejects everyone is added', async () => {
    const { ctx, project } = await openProject({});
    await using _ = ctx;
    const user = await passwordSignUp(ctx, project, 'ada@x.example');
    const appleToken = await appleIdToken({ sub: 'apple-9', email: 'apple@x.example' });
    const apple = await ctx.as(project, 'client', 'POST', '/api/v1/auth/oauth/callback/apple/native', { id_token: appleToken });
    await ctx.setAuthConfig(project, { sign_up_rules: { everything: rule('true', 'reject') } });
    const signIn = expectNoRuleText(await ctx.as(project, 'client', 'POST', '/api/v1/auth/password/sign-in', { email: 'ada@x.example', password: 'a good password' }));
    expect([signIn.status, signIn.body.user_id]).toEqual([200, user.body.user_id]);
    const appleAgain = expectNoRuleText(await ctx.as(project, 'client', 'POST', '/api/v1/auth/oauth/callback/apple/native', { id_token: appleToken }));
    expect([appleAgain.status, appleAgain.body.user_id]).toEqual([200, apple.body.user_id]);
    expect(await triggers(ctx)).toEqual([]);
  });

  it('anonymous upgrades are judged with the method they upgrade with (password, code), and restricted in place', async () => {
    const { ctx, project } = await openProject({ 'limit-otp': rule('authMethod == "otp"', 'restrict'), 'watch-password': rule('authMethod == "password"', 'log') });
    await using _ = ctx;
    const first = await ctx.as(project, 'client', 'POST', '/api/v1/auth/anonymous/sign-up', {});
    const byCode = await otpSignIn(ctx, project, await sendCode(ctx, project, 'code@x.example'), String(first.body.access_token));
    expect(byCode.body.user_id).toBe(first.body.user_id);
    expect(await serverUser(ctx, project, String(first.body.user_id))).toMatchObject({ is_anonymous: false, restricted_by_admin: true, restricted_by_admin_private_details: 'Restricted by sign-up rule: limit-otp' });

    const second = await ctx.as(project, 'client', 'POST', '/api/v1/auth/anonymous/sign-up', {});
    const byPassword = await passwordSignUp(ctx, project, 'pw@x.example', String(second.body.access_token));
    expect(byPassword.body.user_id).toBe(second.body.user_id);
    expect(await serverUser(ctx, project, String(second.body.user_id))).toMatchObject({ is_anonymous: false, restricted_by_admin: false });

    // An anonymous user that first added the address as a contact, then proves it with a code.
    const third = await ctx.as(project, 'client', 'POST', '/api/v1/auth/anonymous/sign-up', {});
    const thirdToken = String(third.body.access_token);
    const channel = await ctx.asUser(project, thirdToken, 'POST', '/api/v1/contact-channels', { user_id: 'me', type: 'email', value: 'own@x.example', used_for_auth: false });
    expect(channel.status).toBe(201);
    const proven = await otpSignIn(ctx, project, await sendCode(ctx, project, 'own@x.example'), thirdToken);
    expect(proven.body.user_id).toBe(third.body.user_id);
    expect(await serverUser(ctx, project, String(third.body.user_id))).toMatchObject({ is_anonymous: false, restricted_by_admin: true, restricted_by_admin_private_details: 'Restricted by sign-up rule: limit-otp' });
    expect((await triggers(ctx)).map((row) => `${row.ruleId}/${row.authMethod}`).sort()).toEqual(['limit-otp/otp', 'limit-otp/otp', 'watch-password/password']);
  });
});
