import { describe, expect, it } from 'vitest';
import { PipelineContext, pollExternal } from './harness/pipeline-context';

interface ExternalUser extends Record<string, unknown> {
  id: string;
  primary_email: string | null;
  primary_email_verified: boolean;
  is_anonymous: boolean;
  restricted_by_admin: boolean;
}

const usersSql = 'SELECT id, primary_email, primary_email_verified, is_anonymous, restricted_by_admin FROM users ORDER BY id';

describe('auth flows reach the tenant’s external database', () => {
  it('sign-up, email verification by code, restriction, anonymous upgrade and deletion all show up', async () => {
    await using ctx = await PipelineContext.open();
    await ctx.startPipeline();
    const project = await ctx.createProject();
    const external = await ctx.createExternalDatabase();
    await ctx.setExternalDatabases(project, { main: external });

    const signUp = await ctx.as(project, 'client', 'POST', '/api/v1/auth/password/sign-up', { email: 'ada@example.com', password: 'a good password' });
    const adaId = String(signUp.body.user_id);
    const byId = (rows: ExternalUser[], id: string) => rows.find((row) => row.id === id);
    let rows = await pollExternal<ExternalUser>(external, usersSql, (found) => byId(found, adaId) !== undefined);
    expect(byId(rows, adaId)).toMatchObject({ primary_email: 'ada@example.com', primary_email_verified: false, is_anonymous: false, restricted_by_admin: false });

    // Signed in, Ada proves her address with an emailed code. (Without her session the code would sign its
    // prover into an account of their own: an unverified address is nobody's, README "Who owns an address".)
    const sent = await ctx.as(project, 'client', 'POST', '/api/v1/auth/otp/send-sign-in-code', { email: 'ada@example.com' });
    const outbox = await ctx.as(project, 'admin', 'GET', '/api/v1/internal/emails');
    const code = /\b(\d{6})\b/.exec((outbox.body.items as { body: string }[])[0]!.body)![1]!;
    const proven = await ctx.asUser(project, String(signUp.body.access_token), 'POST', '/api/v1/auth/otp/sign-in', { nonce: sent.body.nonce, code });
    expect([proven.status, proven.body.user_id]).toEqual([200, adaId]);
    await pollExternal<ExternalUser>(external, usersSql, (found) => byId(found, adaId)?.primary_email_verified === true);

    await ctx.as(project, 'server', 'PATCH', `/api/v1/users/${adaId}`, { restricted_by_admin: true, restricted_by_admin_reason: 'abuse' });
    await pollExternal<ExternalUser>(external, usersSql, (found) => byId(found, adaId)?.restricted_by_admin === true);

    const anonymous = await ctx.as(project, 'client', 'POST', '/api/v1/auth/anonymous/sign-up', {});
    const anonymousId = String(anonymous.body.user_id);
    rows = await pollExternal<ExternalUser>(external, usersSql, (found) => byId(found, anonymousId) !== undefined);
    expect(byId(rows, anonymousId)).toMatchObject({ is_anonymous: true, primary_email: null });
    await ctx.asUser(project, String(anonymous.body.access_token), 'POST', '/api/v1/auth/password/sign-up', { email: 'bob@example.com', password: 'a good password' });
    rows = await pollExternal<ExternalUser>(external, usersSql, (found) => byId(found, anonymousId)?.is_anonymous === false);
    expect(byId(rows, anonymousId)?.primary_email).toBe('bob@example.com');

    await ctx.as(project, 'server', 'DELETE', `/api/v1/users/${adaId}`);
    rows = await pollExternal<ExternalUser>(external, usersSql, (found) => byId(found, adaId) === undefined);
    expect(rows.map((row) => row.id)).toEqual([anonymousId]);
  });
});
