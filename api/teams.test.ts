import { describe, expect, it } from 'vitest';
import { PipelineContext } from '../e2e/harness/pipeline-context';
import { signUp } from '../e2e/harness/payment-fixtures';

describe('teams', () => {
  it('a signed-in client creates a team and becomes its team_admin; members are added, promoted, demoted and removed', async () => {
    await using ctx = await PipelineContext.open();
    const project = await ctx.createProject();
    const owner = await signUp(ctx, project, 'owner@example.com');
    const member = await signUp(ctx, project, 'member@example.com');
    const outsider = await signUp(ctx, project, 'outsider@example.com');

    const signedOut = await ctx.as(project, 'client', 'POST', '/api/v1/teams', { display_name: 'No one' });
    expect([signedOut.status, signedOut.body.code]).toEqual([401, 'USER_AUTHENTICATION_REQUIRED']);
    const created = await ctx.asUser(project, owner.token, 'POST', '/api/v1/teams', { display_name: 'Builders' });
    expect(created.status).toBe(201);
    const teamId = String(created.body.id);
    expect((await ctx.asUser(project, owner.token, 'GET', '/api/v1/teams?user_id=me')).body.items).toEqual([
      { id: teamId, display_name: 'Builders', created_at_millis: created.body.created_at_millis, is_team_admin: true },
    ]);

    // Only team_admins manage; a non-member is told it is not a member.
    expect((await ctx.asUser(project, outsider.token, 'POST', `/api/v1/team-memberships/${teamId}/${outsider.userId}`)).body.code).toBe('TEAM_MEMBERSHIP_NOT_FOUND');
    expect((await ctx.asUser(project, owner.token, 'POST', `/api/v1/team-memberships/${teamId}/${member.userId}`)).status).toBe(201);
    const notAdmin = await ctx.asUser(project, member.token, 'POST', `/api/v1/team-memberships/${teamId}/${outsider.userId}`);
    expect([notAdmin.status, notAdmin.body.code]).toEqual([401, 'TEAM_PERMISSION_REQUIRED']);
    expect((await ctx.asUser(project, member.token, 'GET', '/api/v1/teams')).body.items).toMatchObject([{ id: teamId, is_team_admin: false }]);

    expect((await ctx.asUser(project, owner.token, 'POST', `/api/v1/team-permissions/${teamId}/${member.userId}/team_admin`)).status).toBe(200);
    expect((await ctx.asUser(project, member.token, 'POST', `/api/v1/team-memberships/${teamId}/${outsider.userId}`)).status).toBe(201);
    expect((await ctx.asUser(project, owner.token, 'DELETE', `/api/v1/team-permissions/${teamId}/${member.userId}/team_admin`)).status).toBe(200);
    expect((await ctx.asUser(project, member.token, 'DELETE', `/api/v1/team-memberships/${teamId}/${outsider.userId}`)).body.code).toBe('TEAM_PERMISSION_REQUIRED');
    expect((await ctx.asUser(project, owner.token, 'POST', `/api/v1/team-permissions/${teamId}/${member.userId}/superuser`)).body.code).toBe('TEAM_PERMISSION_NOT_FOUND');
    // A member may leave without any permission.
    expect((await ctx.asUser(project, outsider.token, 'DELETE', `/api/v1/team-memberships/${teamId}/${outsider.userId}`)).status).toBe(200);
    expect((await ctx.asUser(project, outsider.token, 'GET', '/api/v1/teams')).body.items).toEqual([]);
    // A client lists only its own user's teams.
    expect((await ctx.asUser(project, outsider.token, 'GET', `/api/v1/teams?user_id=${owner.userId}`)).status).toBe(403);
  });

  it('server keys manage any team of their project; a deleted user leaves its teams; teams go with their tenancy', async () => {
    await using ctx = await PipelineContext.open();
    const project = await ctx.createProject();
    const other = await ctx.createProject('other');
    const userId = await ctx.createUser(project, { display_name: 'U' });
    const created = await ctx.as(project, 'server', 'POST', '/api/v1/teams', { display_name: 'Server team', creator_user_id: userId });
    const teamId = String(created.body.id);
    expect((await ctx.as(project, 'server', 'GET', `/api/v1/teams?user_id=${userId}`)).body.items).toMatchObject([{ id: teamId, is_team_admin: true }]);
    expect((await ctx.as(project, 'server', 'GET', '/api/v1/teams')).body.items).toHaveLength(1);

    const foreign = await ctx.as(other, 'server', 'POST', `/api/v1/team-memberships/${teamId}/${userId}`);
    expect([foreign.status, foreign.body.code]).toEqual([404, 'TEAM_NOT_FOUND']);
    expect((await ctx.as(other, 'server', 'GET', '/api/v1/teams')).body.items).toEqual([]);
    expect((await ctx.as(project, 'server', 'POST', `/api/v1/team-memberships/${teamId}/00000000-0000-4000-8000-000000000000`)).body.code).toBe('USER_NOT_FOUND');

    await ctx.as(project, 'server', 'DELETE', `/api/v1/users/${userId}`);
    expect((await ctx.internal.query('SELECT 1 FROM "TeamMember"')).rowCount).toBe(0);
    expect((await ctx.internal.query('SELECT 1 FROM "Team"')).rowCount).toBe(1);
    await ctx.internal.query('DELETE FROM "Tenancy" WHERE id = $1', [project.tenancyId]);
    expect((await ctx.internal.query('SELECT 1 FROM "Team"')).rowCount).toBe(0);
  });
});
