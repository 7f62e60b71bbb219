import { describe, expect, it } from 'vitest';
import { PipelineContext, type TestProject } from '../e2e/harness/pipeline-context';

async function signUp(ctx: PipelineContext, project: TestProject, email: string): Promise<{ access_token: string; user_id: string }> {
  const response = await ctx.as(project, 'client', 'POST', '/api/v1/auth/password/sign-up', { email, password: 'a good password' });
  return response.body as { access_token: string; user_id: string };
}

describe('users: own record, restrictions, listing', () => {
  it('lets a signed-in user read and change only client-writable fields of themselves', async () => {
    await using ctx = await PipelineContext.open();
    const project = await ctx.createProject();
    const me = await signUp(ctx, project, 'me@example.com');
    await ctx.as(project, 'server', 'PATCH', `/api/v1/users/${me.user_id}`, { server_metadata: { internal: 'note' } });

    const read = await ctx.asUser(project, me.access_token, 'GET', '/api/v1/users/me');
    expect(read.body).toMatchObject({ id: me.user_id, primary_email: 'me@example.com' });
    expect(read.body).not.toHaveProperty('server_metadata');
    expect(read.body).not.toHaveProperty('restricted_by_admin_private_details');

    const changed = await ctx.asUser(project, me.access_token, 'PATCH', '/api/v1/users/me', { display_name: 'Me', client_metadata: { theme: 'dark' } });
    expect(changed.body).toMatchObject({ display_name: 'Me', client_metadata: { theme: 'dark' } });
    for (const field of [{ server_metadata: {} }, { client_read_only_metadata: {} }, { primary_email_verified: true }, { restricted_by_admin: false }]) {
      const refused = await ctx.asUser(project, me.access_token, 'PATCH', '/api/v1/users/me', field);
      expect([refused.status, refused.body.code]).toEqual([400, 'SCHEMA_ERROR']);
    }
  });

  it('restricts and unrestricts, guarding reason and details in the API and in the database', async () => {
    await using ctx = await PipelineContext.open();
    const project = await ctx.createProject();
    const user = await signUp(ctx, project, 'r@example.com');
    const path = `/api/v1/users/${user.user_id}`;

    const orphanReason = await ctx.as(project, 'server', 'PATCH', path, { restricted_by_admin_reason: 'spam' });
    expect([orphanReason.status, orphanReason.body.code]).toEqual([400, 'SCHEMA_ERROR']);
    expect(String(orphanReason.body.error)).toContain('restricted_by_admin_reason');
    const falseWithDetails = await ctx.as(project, 'server', 'PATCH', path, { restricted_by_admin: false, restricted_by_admin_private_details: 'x' });
    expect(String(falseWithDetails.body.error)).toContain('restricted_by_admin_private_details');

    const restricted = await ctx.as(project, 'server', 'PATCH', path, {
      restricted_by_admin: true,
      restricted_by_admin_reason: 'Terms violation',
      restricted_by_admin_private_details: 'ticket 42',
    });
    expect(restricted.body).toMatchObject({
      restricted_by_admin: true,
      restricted_by_admin_reason: 'Terms violation',
      restricted_by_admin_private_details: 'ticket 42',
      is_restricted: true,
      restricted_reason: { type: 'restricted_by_administrator' },
    });
    const ownView = await ctx.asUser(project, user.access_token, 'GET', '/api/v1/users/me');
    expect(ownView.body).toMatchObject({ restricted_by_admin_reason: 'Terms violation', restricted_reason: { type: 'restricted_by_administrator' } });
    expect(ownView.body).not.toHaveProperty('restricted_by_admin_private_details');

    const cleared = await ctx.as(project, 'server', 'PATCH', path, { restricted_by_admin: false });
    expect(cleared.body).toMatchObject({ restricted_by_admin: false, restricted_by_admin_reason: null, restricted_by_admin_private_details: null, restricted_reason: null });

    // The CHECK constraint backs the API: a direct write cannot leave a reason on an unrestricted user.
    await expect(
      ctx.internal.query(`UPDATE "ProjectUser" SET "restrictedByAdminReason" = 'sneaky' WHERE "projectUserId" = $1`, [user.user_id]),
    ).rejects.toMatchObject({ code: '23514' });
  });

  it('reports anonymous > email_not_verified > restricted_by_administrator', async () => {
    await using ctx = await PipelineContext.open();
    const project = await ctx.createProject();
    await ctx.setAuthConfig(project, { require_email_verification: true });
    const anonymous = await ctx.as(project, 'client', 'POST', '/api/v1/auth/anonymous/sign-up', {});
    const unverified = await signUp(ctx, project, 'u@example.com');
    for (const id of [String(anonymous.body.user_id), unverified.user_id]) {
      await ctx.as(project, 'server', 'PATCH', `/api/v1/users/${id}`, { restricted_by_admin: true });
    }
    expect((await ctx.as(project, 'server', 'GET', `/api/v1/users/${anonymous.body.user_id}`)).body.restricted_reason).toEqual({ type: 'anonymous' });
    expect((await ctx.as(project, 'server', 'GET', `/api/v1/users/${unverified.user_id}`)).body.restricted_reason).toEqual({ type: 'email_not_verified' });
    await ctx.as(project, 'server', 'PATCH', `/api/v1/users/${unverified.user_id}`, { primary_email_verified: true });
    expect((await ctx.as(project, 'server', 'GET', `/api/v1/users/${unverified.user_id}`)).body.restricted_reason).toEqual({
      type: 'restricted_by_administrator',
    });
  });

  it('lists users in pages and hides restricted ones unless asked', async () => {
    await using ctx = await PipelineContext.open();
    const project = await ctx.createProject();
    const ids: string[] = [];
    for (let index = 0; index < 5; index++) ids.push(await ctx.createUser(project, { display_name: `user ${index}` }));
    await ctx.as(project, 'server', 'PATCH', `/api/v1/users/${ids[1]}`, { restricted_by_admin: true });
    await ctx.as(project, 'client', 'POST', '/api/v1/auth/anonymous/sign-up', {});

    const pages: string[][] = [];
    let cursor: string | null = null;
    do {
      const page = await ctx.as(project, 'server', 'GET', `/api/v1/users?limit=2${cursor ? `&cursor=${cursor}` : ''}`);
      pages.push((page.body.items as { id: string }[]).map((item) => item.id));
      cursor = (page.body.pagination as { next_cursor: string | null }).next_cursor;
    } while (cursor);
    expect(pages.flat().sort()).toEqual(ids.filter((id) => id !== ids[1]).sort());
    expect(pages.map((page) => page.length)).toEqual([2, 2]);

    const all = await ctx.as(project, 'server', 'GET', '/api/v1/users?include_restricted=true&limit=100');
    expect((all.body.items as unknown[]).length).toBe(6);
    const bad = await ctx.as(project, 'server', 'GET', '/api/v1/users?limit=0');
    expect([bad.status, bad.body.code]).toEqual([400, 'SCHEMA_ERROR']);
    expect((await ctx.as(project, 'server', 'GET', '/api/v1/users?cursor=garbage')).body.code).toBe('SCHEMA_ERROR');
  });
});
