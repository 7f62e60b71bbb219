import { describe, expect, it } from 'vitest';
import { PipelineContext, type TestProject } from '../e2e/harness/pipeline-context';
import { createApp } from './app';
import { createApiDependencies } from './dependencies';
import { internalDatabasePool } from './start-api';

/** Rate limits that hold across API processes and behind proxies (issue 11, point 6). */

function signIn(app: { request: PipelineContext['app']['request'] }, project: TestProject, email: string, headers: Record<string, string> = {}) {
  return app.request('/api/v1/auth/password/sign-in', {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      'x-stack-project-id': project.id,
      'x-stack-access-type': 'client',
      'x-stack-publishable-client-key': project.publishableClientKey,
      ...headers,
    },
    body: JSON.stringify({ email, password: 'a wrong password' }),
  });
}

describe('rate limits', () => {
  it('are shared by two API processes over one database', async () => {
    await using ctx = await PipelineContext.open({ SIGN_IN_RATE_LIMIT_PER_EMAIL: '4' });
    const project = await ctx.createProject();
    // A second API process: its own app, dependencies and connection pool, the same database.
    const secondPool = internalDatabasePool(ctx.config.DATABASE_URL);
    try {
      const second = createApp(createApiDependencies(ctx.config, secondPool));
      const apps = [ctx.app, second];
      const statuses: number[] = [];
      for (let attempt = 0; attempt < 6; attempt++) statuses.push((await signIn(apps[attempt % 2]!, project, 'target@example.com')).status);
      // Four attempts in all, not four per process.
      expect(statuses).toEqual([400, 400, 400, 400, 429, 429]);
      const counters = await ctx.internal.query<{ key: string }>('SELECT key FROM "RateLimitCounter"');
      // The counters name no address or IP in clear.
      expect(counters.rows.length).toBeGreaterThan(0);
      expect(JSON.stringify(counters.rows)).not.toContain('target@example.com');
    } finally {
      await secondPool.end();
    }
  });

  it('count the address the trusted proxy appended, not what the client wrote in front of it', async () => {
    await using ctx = await PipelineContext.open({ TRUST_PROXY: 'true', SIGN_IN_RATE_LIMIT_PER_IP: '3' });
    const project = await ctx.createProject();
    const statuses: number[] = [];
    for (let attempt = 0; attempt < 5; attempt++) {
      // The client rotates a spoofed entry; the proxy appends the real peer, 203.0.113.7.
      const response = await signIn(ctx.app, project, `user${attempt}@example.com`, { 'x-forwarded-for': `198.51.100.${attempt}, 203.0.113.7` });
      statuses.push(response.status);
    }
    expect(statuses).toEqual([400, 400, 400, 429, 429]);
    // Another real client behind the same proxy is not affected.
    expect((await signIn(ctx.app, project, 'user9@example.com', { 'x-forwarded-for': '203.0.113.8' })).status).toBe(400);
  });

  it('limit what a client can learn from adding sign-in channels, per address and per IP', async () => {
    await using ctx = await PipelineContext.open({ SIGN_IN_RATE_LIMIT_PER_EMAIL: '3', SIGN_IN_RATE_LIMIT_PER_IP: '6' });
    const project = await ctx.createProject();
    await ctx.createUser(project, { primary_email: 'victim@example.com', primary_email_verified: true });
    const prober = await ctx.as(project, 'client', 'POST', '/api/v1/auth/anonymous/sign-up', {});
    const token = String(prober.body.access_token);
    const add = (value: string) => ctx.asUser(project, token, 'POST', '/api/v1/contact-channels', { user_id: 'me', type: 'email', value, used_for_auth: true });

    const probes: number[] = [];
    for (let attempt = 0; attempt < 4; attempt++) probes.push((await add('victim@example.com')).status);
    expect(probes).toEqual([409, 409, 409, 429]);
    // Per IP: different addresses from the same client run out too (its 6 attempts are spent two later).
    const spread: number[] = [];
    for (let attempt = 0; attempt < 4; attempt++) spread.push((await add(`probe${attempt}@example.com`)).status);
    expect(spread).toEqual([201, 201, 429, 429]);
    // A server (secret key) is not limited: imports and admin tools add many channels.
    const userId = await ctx.createUser(project, {});
    for (let attempt = 0; attempt < 5; attempt++) {
      const response = await ctx.as(project, 'server', 'POST', '/api/v1/contact-channels', { user_id: userId, type: 'email', value: `bulk${attempt}@example.com`, used_for_auth: true });
      expect(response.status).toBe(201);
    }
  });
});
