import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { exportJWK, generateKeyPair, SignJWT, type CryptoKey } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PipelineContext, type TestProject } from '../e2e/harness/pipeline-context';

/** A stand-in for Apple's key endpoint, on loopback: the API fetches it like the real one. */
let server: Server;
let jwksUrl: string;
let appleKey: CryptoKey;
let strangerKey: CryptoKey;

beforeAll(async () => {
  const pair = await generateKeyPair('RS256', { extractable: true });
  appleKey = pair.privateKey;
  strangerKey = (await generateKeyPair('RS256')).privateKey;
  const jwks = JSON.stringify({ keys: [{ ...(await exportJWK(pair.publicKey)), kid: 'apple-test-key', alg: 'RS256', use: 'sig' }] });
  server = createServer((_request, response) => response.writeHead(200, { 'content-type': 'application/json' }).end(jwks));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  jwksUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}/auth/keys`;
});

afterAll(async () => {
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

function idToken(claims: Record<string, unknown>, options: { key?: CryptoKey; audience?: string; issuer?: string; expiresIn?: string } = {}): Promise<string> {
  return new SignJWT({ email_verified: 'true', ...claims })
    .setProtectedHeader({ alg: 'RS256', kid: 'apple-test-key' })
    .setIssuer(options.issuer ?? 'https://appleid.apple.com')
    .setAudience(options.audience ?? 'com.example.app')
    .setIssuedAt()
    .setExpirationTime(options.expiresIn ?? '5m')
    .sign(options.key ?? appleKey);
}

function appleSignIn(ctx: PipelineContext, project: TestProject, token: string) {
  return ctx.as(project, 'client', 'POST', '/api/v1/auth/oauth/callback/apple/native', { id_token: token });
}

describe('Apple native sign-in', () => {
  it('needs the provider enabled and a bundle id configured', async () => {
    await using ctx = await PipelineContext.open({ APPLE_JWKS_URL: jwksUrl });
    const project = await ctx.createProject();
    const token = await idToken({ sub: 'apple-1', email: 'a@example.com' });
    expect((await appleSignIn(ctx, project, token)).body.code).toBe('OAUTH_PROVIDER_NOT_FOUND_OR_NOT_ENABLED');
    await ctx.setAuthConfig(project, { apple: { enabled: true } });
    expect((await appleSignIn(ctx, project, token)).body.code).toBe('APPLE_BUNDLE_ID_NOT_CONFIGURED');
  });

  it('rejects tokens Apple did not issue for one of our bundle ids', async () => {
    await using ctx = await PipelineContext.open({ APPLE_JWKS_URL: jwksUrl });
    const project = await ctx.createProject();
    await ctx.setAuthConfig(project, { apple: { enabled: true, bundle_ids: ['com.example.app'] } });
    const bad = {
      'another app': await idToken({ sub: 's' }, { audience: 'com.other.app' }),
      'another issuer': await idToken({ sub: 's' }, { issuer: 'https://apple.example.net' }),
      expired: await idToken({ sub: 's', iat: Math.floor(Date.now() / 1000) - 3_600 }, { expiresIn: '-10m' }),
      'an unknown key': await idToken({ sub: 's' }, { key: strangerKey }),
      garbage: 'eyJhbGciOiJub25lIn0.e30.',
    };
    for (const [name, token] of Object.entries(bad)) {
      const response = await appleSignIn(ctx, project, token);
      expect({ name, code: response.body.code }).toEqual({ name, code: 'INVALID_APPLE_CREDENTIALS' });
    }
  });

  it('creates a user once and signs the same Apple account in afterwards', async () => {
    await using ctx = await PipelineContext.open({ APPLE_JWKS_URL: jwksUrl });
    const project = await ctx.createProject();
    await ctx.setAuthConfig(project, { apple: { enabled: true, bundle_ids: ['com.example.app', 'com.example.mac'] } });
    const first = await appleSignIn(ctx, project, await idToken({ sub: 'apple-42', email: 'Fan@PrivateRelay.Example' }));
    expect(first.status).toBe(200);
    const me = await ctx.asUser(project, String(first.body.access_token), 'GET', '/api/v1/users/me');
    expect(me.body).toMatchObject({ primary_email: 'fan@privaterelay.example', primary_email_verified: true });
    const again = await appleSignIn(ctx, project, await idToken({ sub: 'apple-42' }, { audience: 'com.example.mac' }));
    expect(again.body.user_id).toBe(first.body.user_id);
  });

  it('links to an existing verified account by email only when the project allows it', async () => {
    await using ctx = await PipelineContext.open({ APPLE_JWKS_URL: jwksUrl });
    const project = await ctx.createProject();
    await ctx.setAuthConfig(project, { apple: { enabled: true, bundle_ids: ['com.example.app'] } });
    const existing = await ctx.createUser(project, { primary_email: 'owner@example.com', primary_email_verified: true });

    const notLinked = await appleSignIn(ctx, project, await idToken({ sub: 'apple-a', email: 'owner@example.com' }));
    expect(notLinked.body.user_id).not.toBe(existing);

    await ctx.setAuthConfig(project, { link_oauth_by_verified_email: true });
    const linked = await appleSignIn(ctx, project, await idToken({ sub: 'apple-b', email: 'owner@example.com' }));
    expect(linked.body.user_id).toBe(existing);
    // Apple not vouching for the address is never enough to link.
    const unverified = await appleSignIn(ctx, project, await idToken({ sub: 'apple-c', email: 'owner@example.com', email_verified: 'false' }));
    expect(unverified.body.user_id).not.toBe(existing);
  });
});
