import { createLocalJWKSet, generateKeyPair, jwtVerify, SignJWT, type JSONWebKeySet } from 'jose';
import { describe, expect, it } from 'vitest';
import { PipelineContext, type TestProject } from '../e2e/harness/pipeline-context';
import { createApiDependencies } from './dependencies';
import { issuerFor } from './auth/access-token';

async function signUp(ctx: PipelineContext, project: TestProject, email: string): Promise<{ access_token: string; refresh_token: string; user_id: string }> {
  const response = await ctx.as(project, 'client', 'POST', '/api/v1/auth/password/sign-up', { email, password: 'a good password' });
  expect(response.status).toBe(201);
  return response.body as { access_token: string; refresh_token: string; user_id: string };
}

function refresh(ctx: PipelineContext, project: TestProject, refreshToken: string) {
  return ctx.request('POST', '/api/v1/auth/sessions/current/refresh', {
    headers: {
      'x-stack-project-id': project.id,
      'x-stack-access-type': 'client',
      'x-stack-publishable-client-key': project.publishableClientKey,
      'x-stack-refresh-token': refreshToken,
    },
  });
}

describe('sessions and access tokens', () => {
  it('issues ES256 tokens that anyone can verify with the project’s JWKS, across a key rotation', async () => {
    await using ctx = await PipelineContext.open();
    const project = await ctx.createProject();
    const first = await signUp(ctx, project, 'ada@example.com');
    const jwks = (await ctx.request('GET', `/api/v1/projects/${project.id}/.well-known/jwks.json`)).body as unknown as JSONWebKeySet;
    const verified = await jwtVerify(first.access_token, createLocalJWKSet(jwks), {
      algorithms: ['ES256'],
      issuer: issuerFor(ctx.config.STACK_API_URL, project.id),
      audience: project.id,
    });
    expect(verified.payload.sub).toBe(first.user_id);
    expect(verified.protectedHeader.kid).toBe(jwks.keys[0]?.kid);
    expect((verified.payload.exp ?? 0) - (verified.payload.iat ?? 0)).toBe(ctx.config.ACCESS_TOKEN_TTL_SECONDS);

    const rotated = await ctx.as(project, 'admin', 'POST', '/api/v1/internal/signing-keys/rotate');
    expect(rotated.status).toBe(200);
    const second = await signUp(ctx, project, 'bob@example.com');
    const afterRotation = (await ctx.request('GET', `/api/v1/projects/${project.id}/.well-known/jwks.json`)).body as unknown as JSONWebKeySet;
    expect(afterRotation.keys.map((key) => key.kid)).toEqual([rotated.body.kid, verified.protectedHeader.kid]);
    // The token signed before the rotation still works; the new one is signed with the new key.
    expect((await ctx.asUser(project, first.access_token, 'GET', '/api/v1/users/me')).body.id).toBe(first.user_id);
    expect((await ctx.asUser(project, second.access_token, 'GET', '/api/v1/users/me')).body.id).toBe(second.user_id);
  });

  it('rotates refresh tokens and revokes the whole session when a used one comes back', async () => {
    await using ctx = await PipelineContext.open();
    const project = await ctx.createProject();
    const tokens = await signUp(ctx, project, 'ada@example.com');
    const next = await refresh(ctx, project, tokens.refresh_token);
    expect(next.status).toBe(200);
    expect(next.body.refresh_token).not.toBe(tokens.refresh_token);
    expect((await ctx.asUser(project, String(next.body.access_token), 'GET', '/api/v1/users/me')).status).toBe(200);

    const replay = await refresh(ctx, project, tokens.refresh_token);
    expect([replay.status, replay.body.code]).toEqual([401, 'REFRESH_TOKEN_REUSED']);
    // Everything of that session is dead now: the newest refresh token and the access tokens.
    expect((await refresh(ctx, project, String(next.body.refresh_token))).body.code).toBe('REFRESH_TOKEN_NOT_FOUND_OR_EXPIRED');
    expect((await ctx.asUser(project, String(next.body.access_token), 'GET', '/api/v1/users/me')).body.code).toBe('SESSION_REVOKED');
    expect((await refresh(ctx, project, 'rt_made_up')).body.code).toBe('REFRESH_TOKEN_NOT_FOUND_OR_EXPIRED');
  });

  it('signs out', async () => {
    await using ctx = await PipelineContext.open();
    const project = await ctx.createProject();
    const tokens = await signUp(ctx, project, 'ada@example.com');
    expect((await ctx.asUser(project, tokens.access_token, 'DELETE', '/api/v1/auth/sessions/current')).status).toBe(200);
    expect((await ctx.asUser(project, tokens.access_token, 'GET', '/api/v1/users/me')).body.code).toBe('SESSION_REVOKED');
    expect((await refresh(ctx, project, tokens.refresh_token)).status).toBe(401);
  });

  it('prefers the explicit token header over the cookie', async () => {
    await using ctx = await PipelineContext.open();
    const project = await ctx.createProject();
    const ada = await signUp(ctx, project, 'ada@example.com');
    const bob = await signUp(ctx, project, 'bob@example.com');
    const clientHeaders = { 'x-stack-project-id': project.id, 'x-stack-access-type': 'client', 'x-stack-publishable-client-key': project.publishableClientKey };
    const both = await ctx.request('GET', '/api/v1/users/me', { headers: { ...clientHeaders, cookie: `stack-access=${ada.access_token}`, 'x-stack-access-token': bob.access_token } });
    expect(both.body.id).toBe(bob.user_id);
    const cookieOnly = await ctx.request('GET', '/api/v1/users/me', { headers: { ...clientHeaders, cookie: `stack-access=${ada.access_token}` } });
    expect(cookieOnly.body.id).toBe(ada.user_id);
    const none = await ctx.request('GET', '/api/v1/users/me', { headers: clientHeaders });
    expect([none.status, none.body.code]).toEqual([401, 'USER_AUTHENTICATION_REQUIRED']);
  });

  it('rejects alg none, HS256 with the public key, expired, wrong aud/iss, unknown kid and other projects’ tokens', async () => {
    await using ctx = await PipelineContext.open();
    const project = await ctx.createProject();
    const other = await ctx.createProject('other');
    const real = await signUp(ctx, project, 'ada@example.com');
    const otherUser = await signUp(ctx, other, 'ada@example.com');
    const [, payloadPart] = real.access_token.split('.');
    const payload = JSON.parse(Buffer.from(payloadPart!, 'base64url').toString('utf8')) as Record<string, unknown>;
    const activeKey = await createApiDependencies(ctx.config, ctx.internal).signingKeys.active(project.id);
    const jwks = (await ctx.request('GET', `/api/v1/projects/${project.id}/.well-known/jwks.json`)).body as unknown as JSONWebKeySet;
    const now = Math.floor(Date.now() / 1000);
    const withRealKey = (claims: Record<string, unknown>, kid = activeKey.kid) =>
      new SignJWT({ ...payload, ...claims }).setProtectedHeader({ alg: 'ES256', kid }).sign(activeKey.privateKey);

    const forged: Record<string, string> = {
      'alg none': `${Buffer.from(JSON.stringify({ alg: 'none', typ: 'JWT' })).toString('base64url')}.${payloadPart}.`,
      'HS256 keyed with the public JWK': await new SignJWT(payload)
        .setProtectedHeader({ alg: 'HS256', kid: activeKey.kid })
        .sign(new TextEncoder().encode(JSON.stringify(jwks.keys[0]))),
      expired: await withRealKey({ iat: now - 3_600, exp: now - 60 }),
      'wrong aud': await withRealKey({ aud: other.id }),
      'wrong iss': await withRealKey({ iss: 'https://attacker.example.com' }),
      'unknown kid': await new SignJWT(payload)
        .setProtectedHeader({ alg: 'ES256', kid: 'not-a-key-of-ours' })
        .sign((await generateKeyPair('ES256')).privateKey),
      'another project’s token': otherUser.access_token,
      garbage: 'not.a.jwt',
    };
    for (const [name, token] of Object.entries(forged)) {
      const response = await ctx.asUser(project, token, 'GET', '/api/v1/users/me');
      expect({ name, status: response.status, code: response.body.code }).toEqual({
        name,
        status: 401,
        code: name === 'expired' ? 'ACCESS_TOKEN_EXPIRED' : 'INVALID_ACCESS_TOKEN',
      });
    }
    // The real one, for contrast: the checks above fail for their reason, not for every token.
    expect((await ctx.asUser(project, await withRealKey({}), 'GET', '/api/v1/users/me')).status).toBe(200);
  });
});
