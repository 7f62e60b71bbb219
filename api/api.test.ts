import { describe, expect, it } from 'vitest';
import { PipelineContext } from '../e2e/harness/pipeline-context';

async function countUsers(ctx: PipelineContext, tenancyId: string): Promise<number> {
  const result = await ctx.internal.query<{ count: string }>('SELECT count(*) FROM "ProjectUser" WHERE "tenancyId" = $1', [tenancyId]);
  return Number(result.rows[0]?.count);
}

describe('API: keys and access types', () => {
  it('answers wrong, missing and other-project keys with 401 and a stable code', async () => {
    await using ctx = await PipelineContext.open();
    const project = await ctx.createProject('mine');
    const other = await ctx.createProject('theirs');
    const cases: { headers: Record<string, string>; code: string }[] = [
      { headers: { 'x-stack-project-id': project.id, 'x-stack-access-type': 'server', 'x-stack-secret-server-key': 'ssk_wrong' }, code: 'INVALID_SECRET_SERVER_KEY' },
      { headers: { 'x-stack-project-id': project.id, 'x-stack-access-type': 'server' }, code: 'INVALID_SECRET_SERVER_KEY' },
      { headers: { 'x-stack-project-id': project.id, 'x-stack-access-type': 'server', 'x-stack-secret-server-key': other.secretServerKey }, code: 'INVALID_SECRET_SERVER_KEY' },
      { headers: { 'x-stack-project-id': project.id, 'x-stack-access-type': 'admin', 'x-stack-super-secret-admin-key': project.secretServerKey }, code: 'INVALID_SUPER_SECRET_ADMIN_KEY' },
      { headers: { 'x-stack-project-id': project.id, 'x-stack-access-type': 'client', 'x-stack-publishable-client-key': 'nope' }, code: 'INVALID_PUBLISHABLE_CLIENT_KEY' },
      { headers: { 'x-stack-project-id': project.id, 'x-stack-access-type': 'client', 'x-stack-publishable-client-key': project.publishableClientKey }, code: 'INSUFFICIENT_ACCESS_TYPE' },
    ];
    for (const { headers, code } of cases) {
      const response = await ctx.request('POST', '/api/v1/users', { body: { display_name: 'x' }, headers });
      expect({ status: response.status, code: response.body.code, header: response.headers.get('x-stack-known-error') }).toEqual({ status: 401, code, header: code });
    }
    // A malformed request rather than a wrong credential: 400, as in stack-auth.
    const withoutProject = await ctx.request('POST', '/api/v1/users', { body: { display_name: 'x' }, headers: { 'x-stack-access-type': 'server', 'x-stack-secret-server-key': project.secretServerKey } });
    expect([withoutProject.status, withoutProject.body.code]).toEqual([400, 'ACCESS_TYPE_WITHOUT_PROJECT_ID']);
    expect(await countUsers(ctx, project.tenancyId)).toBe(0);
  });

  it('creates projects only with the internal admin key, and shows keys once', async () => {
    await using ctx = await PipelineContext.open();
    const refused = await ctx.request('POST', '/api/v1/internal/projects', { body: { display_name: 'x' }, headers: { 'x-stack-internal-admin-key': 'guess' } });
    expect(refused.status).toBe(401);
    expect(refused.body.code).toBe('INVALID_INTERNAL_ADMIN_KEY');
    const project = await ctx.createProject();
    const stored = await ctx.internal.query('SELECT * FROM "Project" WHERE id = $1', [project.id]);
    expect(JSON.stringify(stored.rows[0])).not.toContain(project.secretServerKey);
    const current = await ctx.as(project, 'admin', 'GET', '/api/latest/internal/projects/current');
    expect(current.body).toEqual({ id: project.id, tenancy_id: project.tenancyId });
  });
});

describe('API: users and contact channels', () => {
  it('rejects bad bodies with 400 SCHEMA_ERROR naming the field, and writes nothing', async () => {
    await using ctx = await PipelineContext.open();
    const project = await ctx.createProject();
    const bodies: { body: unknown; field: string }[] = [
      { body: { display_name: 5 }, field: 'display_name' },
      { body: { primary_email: 'not-an-email' }, field: 'primary_email' },
      { body: { client_metadata: 'a string' }, field: 'client_metadata' },
      { body: { profile_image_url: 'javascript:alert(1)' }, field: 'profile_image_url' },
      { body: { unexpected_field: true }, field: 'unexpected_field' },
      { body: { display_name: 'x'.repeat(1_001) }, field: 'display_name' },
      { body: { display_name: 'nul \u0000 inside' }, field: 'display_name' },
    ];
    for (const { body, field } of bodies) {
      const response = await ctx.as(project, 'server', 'POST', '/api/v1/users', body);
      expect(response.status, JSON.stringify(body)).toBe(400);
      expect(response.body.code).toBe('SCHEMA_ERROR');
      expect(String(response.body.error)).toContain(field);
    }
    const notJson = await ctx.request('POST', '/api/v1/users', {
      body: '{"display_name": ',
      headers: { 'x-stack-project-id': project.id, 'x-stack-access-type': 'server', 'x-stack-secret-server-key': project.secretServerKey },
    });
    expect(notJson.status).toBe(400);
    expect(notJson.body.code).toBe('BODY_PARSING_ERROR');
    expect(await countUsers(ctx, project.tenancyId)).toBe(0);
  });

  it('refuses an email that already signs someone in (verified), leaving no half-created user', async () => {
    await using ctx = await PipelineContext.open();
    const project = await ctx.createProject();
    await ctx.createUser(project, { primary_email: 'taken@example.com', primary_email_verified: true });
    const duplicate = await ctx.as(project, 'server', 'POST', '/api/v1/users', { primary_email: 'Taken@Example.com', display_name: 'second' });
    expect(duplicate.status).toBe(409);
    expect(duplicate.body.code).toBe('USER_EMAIL_ALREADY_EXISTS');
    expect(await countUsers(ctx, project.tenancyId)).toBe(1);
    // The same address in another project is another user's business.
    const other = await ctx.createProject('other');
    expect((await ctx.as(other, 'server', 'POST', '/api/v1/users', { primary_email: 'taken@example.com' })).status).toBe(201);
  });

  it('reads, updates and deletes users of its own project only', async () => {
    await using ctx = await PipelineContext.open();
    const project = await ctx.createProject();
    const other = await ctx.createProject('other');
    const userId = await ctx.createUser(project, { primary_email: 'me@example.com', display_name: 'Me', server_metadata: { tier: 1 } });

    const read = await ctx.as(project, 'server', 'GET', `/api/v1/users/${userId}`);
    expect(read.body).toMatchObject({ id: userId, display_name: 'Me', primary_email: 'me@example.com', server_metadata: { tier: 1 } });
    for (const [method, body] of [['GET', undefined], ['PATCH', { display_name: 'hijack' }], ['DELETE', undefined]] as const) {
      const response = await ctx.as(other, 'server', method, `/api/v1/users/${userId}`, body);
      expect(response.status).toBe(404);
      expect(response.body.code).toBe('USER_NOT_FOUND');
    }
    const channel = await ctx.as(other, 'server', 'POST', '/api/v1/contact-channels', { user_id: userId, type: 'email', value: 'x@example.com' });
    expect(channel.status).toBe(404);

    const updated = await ctx.as(project, 'server', 'PATCH', `/api/v1/users/${userId}`, { primary_email: 'new@example.com', display_name: null });
    expect(updated.body).toMatchObject({ display_name: null, primary_email: 'new@example.com', primary_email_verified: false });
    expect((await ctx.as(project, 'server', 'DELETE', `/api/v1/users/${userId}`)).status).toBe(200);
    expect((await ctx.as(project, 'server', 'GET', `/api/v1/users/${userId}`)).status).toBe(404);
    expect((await ctx.as(project, 'server', 'GET', '/api/v1/users/not-a-uuid')).status).toBe(404);
  });

  it('stores external connection strings encrypted and never returns their passwords', async () => {
    await using ctx = await PipelineContext.open();
    const project = await ctx.createProject();
    await ctx.setExternalDatabases(project, { main: 'postgres://owner:hunter2-secret@db.example.com:5432/app' });
    const stored = await ctx.internal.query<{ config: unknown }>('SELECT config FROM "Project" WHERE id = $1', [project.id]);
    expect(JSON.stringify(stored.rows[0]?.config)).not.toContain('hunter2');
    const shown = await ctx.as(project, 'admin', 'GET', '/api/v1/internal/config');
    expect(JSON.stringify(shown.body)).not.toContain('hunter2');
    expect(shown.body).toMatchObject({ db_sync: { external_databases: { main: { type: 'postgres' } } } });
    const serverKey = await ctx.as(project, 'server', 'GET', '/api/v1/internal/config');
    expect(serverKey.body.code).toBe('INSUFFICIENT_ACCESS_TYPE');
    const bad = await ctx.as(project, 'admin', 'PATCH', '/api/v1/internal/config', { db_sync: { external_databases: { main: { type: 'mysql', connection_string: 'x' } } } });
    expect(bad.status).toBe(400);
    expect(String(bad.body.error)).toContain('db_sync.external_databases.main');
  });
});
