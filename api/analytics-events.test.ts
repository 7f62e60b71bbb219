import { describe, expect, it } from 'vitest';
import { PipelineContext, type TestProject } from '../e2e/harness/pipeline-context';

interface EventRow {
  event_type: string;
  user_id: string | null;
  project_id: string;
  data: Record<string, unknown>;
}

/** The project's events as its admin sees them, oldest first. */
async function eventsOf(ctx: PipelineContext, project: TestProject): Promise<EventRow[]> {
  const response = await ctx.as(project, 'admin', 'POST', '/api/v1/internal/analytics/query', {
    query: 'SELECT event_type, user_id, project_id, data FROM events ORDER BY event_at, event_id',
  });
  expect(response.status, JSON.stringify(response.body)).toBe(200);
  return response.body.result as EventRow[];
}

async function otpCode(ctx: PipelineContext, project: TestProject, email: string): Promise<{ nonce: string; code: string }> {
  const sent = await ctx.as(project, 'client', 'POST', '/api/v1/auth/otp/send-sign-in-code', { email });
  const outbox = await ctx.as(project, 'admin', 'GET', '/api/v1/internal/emails');
  const latest = (outbox.body.items as { to: string; body: string }[]).find((item) => item.to === email);
  return { nonce: String(sent.body.nonce), code: /\b(\d{6})\b/.exec(latest?.body ?? '')?.[1] ?? '' };
}

describe('analytics events of the auth flows', () => {
  it('records sign-ups of each flow, sign-ins and token refreshes, with the user and method', async () => {
    await using ctx = await PipelineContext.open();
    const project = await ctx.createProject();
    await ctx.setAuthConfig(project, { otp_enabled: true, anonymous_enabled: true });

    const password = await ctx.as(project, 'client', 'POST', '/api/v1/auth/password/sign-up', { email: 'ada@example.com', password: 'a good password' });
    const signIn = await ctx.as(project, 'client', 'POST', '/api/v1/auth/password/sign-in', { email: 'ada@example.com', password: 'a good password' });
    const anonymous = await ctx.as(project, 'client', 'POST', '/api/v1/auth/anonymous/sign-up', {});
    const upgraded = await ctx.asUser(project, String(anonymous.body.access_token), 'POST', '/api/v1/auth/password/sign-up', { email: 'anon@example.com', password: 'a good password' });
    const otpNew = await ctx.as(project, 'client', 'POST', '/api/v1/auth/otp/sign-in', await otpCode(ctx, project, 'grace@example.com'));
    const otpAgain = await ctx.as(project, 'client', 'POST', '/api/v1/auth/otp/sign-in', await otpCode(ctx, project, 'grace@example.com'));
    const refreshed = await ctx.request('POST', '/api/v1/auth/sessions/current/refresh', {
      headers: {
        'x-stack-project-id': project.id,
        'x-stack-access-type': 'client',
        'x-stack-publishable-client-key': project.publishableClientKey,
        'x-stack-refresh-token': String(signIn.body.refresh_token),
      },
    });
    for (const response of [password, anonymous, upgraded]) expect(response.status).toBe(201);
    for (const response of [signIn, otpNew, otpAgain, refreshed]) expect(response.status, JSON.stringify(response.body)).toBe(200);

    const ada = String(password.body.user_id);
    const anon = String(anonymous.body.user_id);
    const grace = String(otpNew.body.user_id);
    const events = await eventsOf(ctx, project);
    expect(events.map(({ event_type, user_id, data }) => ({ event_type, user_id, data }))).toEqual([
      { event_type: 'sign_up', user_id: ada, data: { auth_method: 'password', upgraded_from_anonymous: false } },
      { event_type: 'sign_in', user_id: ada, data: { auth_method: 'password' } },
      { event_type: 'sign_up', user_id: anon, data: { auth_method: 'anonymous', upgraded_from_anonymous: false } },
      { event_type: 'sign_up', user_id: anon, data: { auth_method: 'password', upgraded_from_anonymous: true } },
      { event_type: 'sign_up', user_id: grace, data: { auth_method: 'otp', upgraded_from_anonymous: false } },
      { event_type: 'sign_in', user_id: grace, data: { auth_method: 'otp' } },
      { event_type: 'token_refresh', user_id: ada, data: { session_id: expect.any(String) } },
    ]);
    expect(new Set(events.map((event) => event.project_id))).toEqual(new Set([project.id]));
  });

  // An anonymous user proving by code an address it had added is upgraded: a sign-up, not a sign-in.
  it('records an anonymous user proving its own address by code as an upgrade sign-up', async () => {
    await using ctx = await PipelineContext.open();
    const project = await ctx.createProject();
    await ctx.setAuthConfig(project, { otp_enabled: true, anonymous_enabled: true });
    const anonymous = await ctx.as(project, 'client', 'POST', '/api/v1/auth/anonymous/sign-up', {});
    const token = String(anonymous.body.access_token);
    const added = await ctx.asUser(project, token, 'POST', '/api/v1/contact-channels', { user_id: 'me', type: 'email', value: 'anon@example.com', used_for_auth: true });
    expect(added.status, JSON.stringify(added.body)).toBe(201);
    const proved = await ctx.asUser(project, token, 'POST', '/api/v1/auth/otp/sign-in', await otpCode(ctx, project, 'anon@example.com'));
    expect(proved.status, JSON.stringify(proved.body)).toBe(200);
    const events = (await eventsOf(ctx, project)).map(({ event_type, data }) => ({ event_type, data }));
    expect(events).toEqual([
      { event_type: 'sign_up', data: { auth_method: 'anonymous', upgraded_from_anonymous: false } },
      { event_type: 'sign_up', data: { auth_method: 'otp', upgraded_from_anonymous: true } },
    ]);
  });

  it('records nothing for an action that failed or was rolled back', async () => {
    await using ctx = await PipelineContext.open();
    const project = await ctx.createProject();
    const first = await ctx.as(project, 'client', 'POST', '/api/v1/auth/password/sign-up', { email: 'ada@example.com', password: 'a good password' });
    // The address becomes verified, so a second sign-up with it is refused (409) inside its transaction.
    await ctx.as(project, 'server', 'PATCH', `/api/v1/users/${String(first.body.user_id)}`, { primary_email_verified: true });
    const taken = await ctx.as(project, 'client', 'POST', '/api/v1/auth/password/sign-up', { email: 'ada@example.com', password: 'another password' });
    expect(taken.status).toBe(409);
    const wrongPassword = await ctx.as(project, 'client', 'POST', '/api/v1/auth/password/sign-in', { email: 'ada@example.com', password: 'wrong password!' });
    expect(wrongPassword.status).toBe(400);
    const badRefresh = await ctx.request('POST', '/api/v1/auth/sessions/current/refresh', {
      headers: { 'x-stack-project-id': project.id, 'x-stack-access-type': 'client', 'x-stack-publishable-client-key': project.publishableClientKey, 'x-stack-refresh-token': 'rt_unknown' },
    });
    expect(badRefresh.status).toBe(401);
    expect((await eventsOf(ctx, project)).map((event) => event.event_type)).toEqual(['sign_up']);
    // A write that fails after the event was inserted takes the event with it.
    await ctx.internal.query(`CREATE FUNCTION refuse_session() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'refused'; END $$`);
    await ctx.internal.query(`CREATE TRIGGER refuse_session BEFORE INSERT ON "AuthSession" FOR EACH ROW EXECUTE FUNCTION refuse_session()`);
    const failedSignIn = await ctx.as(project, 'client', 'POST', '/api/v1/auth/password/sign-in', { email: 'ada@example.com', password: 'a good password' });
    expect(failedSignIn.status).toBe(500);
    expect((await eventsOf(ctx, project)).map((event) => event.event_type)).toEqual(['sign_up']);
  });
});
