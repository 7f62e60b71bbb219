import { describe, expect, it } from 'vitest';
import { PipelineContext } from '../e2e/harness/pipeline-context';

describe('contact channels', () => {
  it('creates, lists, updates, makes primary, verifies and deletes', async () => {
    await using ctx = await PipelineContext.open();
    const project = await ctx.createProject();
    const userId = await ctx.createUser(project, { primary_email: 'first@example.com' });
    const created = await ctx.as(project, 'server', 'POST', '/api/v1/contact-channels', { user_id: userId, type: 'email', value: 'second@example.com', used_for_auth: true });
    expect(created.status).toBe(201);
    const channelId = String(created.body.id);
    const phone = await ctx.as(project, 'server', 'POST', '/api/v1/contact-channels', { user_id: userId, type: 'phone', value: '+15550100', is_primary: true });
    expect(phone.body).toMatchObject({ type: 'phone', is_primary: true });

    const path = `/api/v1/contact-channels/${userId}/${channelId}`;
    const promoted = await ctx.as(project, 'server', 'PATCH', path, { is_primary: true, is_verified: true });
    expect(promoted.body).toMatchObject({ is_primary: true, is_verified: true });
    const list = await ctx.as(project, 'server', 'GET', `/api/v1/contact-channels?user_id=${userId}`);
    const channels = list.body.items as { value: string; type: string; is_primary: boolean }[];
    // One primary per type: the email moved, the phone kept its own.
    expect(channels.filter((channel) => channel.is_primary).map((channel) => channel.value).sort()).toEqual(['+15550100', 'second@example.com']);
    expect((await ctx.as(project, 'server', 'GET', `/api/v1/users/${userId}`)).body).toMatchObject({ primary_email: 'second@example.com', primary_email_verified: true });

    const renamed = await ctx.as(project, 'server', 'PATCH', path, { value: 'third@example.com' });
    expect(renamed.body).toMatchObject({ value: 'third@example.com', is_verified: false });
    expect((await ctx.as(project, 'server', 'DELETE', path)).status).toBe(200);
    expect((await ctx.as(project, 'server', 'DELETE', path)).body.code).toBe('CONTACT_CHANNEL_NOT_FOUND');
    expect((await ctx.as(project, 'server', 'GET', `/api/v1/users/${userId}`)).body.primary_email).toBeNull();
  });

  it('keeps an email used for auth unique within a project', async () => {
    await using ctx = await PipelineContext.open();
    const project = await ctx.createProject();
    const first = await ctx.createUser(project, { primary_email: 'shared@example.com', primary_email_verified: true });
    const second = await ctx.createUser(project, {});
    const clash = await ctx.as(project, 'server', 'POST', '/api/v1/contact-channels', { user_id: second, type: 'email', value: 'Shared@Example.COM', used_for_auth: true });
    expect([clash.status, clash.body.code]).toEqual([409, 'CONTACT_CHANNEL_ALREADY_USED_FOR_AUTH_BY_SOMEONE_ELSE']);
    // Not for sign-in, the same address may sit on another user.
    expect((await ctx.as(project, 'server', 'POST', '/api/v1/contact-channels', { user_id: second, type: 'email', value: 'shared@example.com' })).status).toBe(201);
    expect(first).not.toBe(second);
  });

  it('lets a client manage only its own channels, and never mark them verified', async () => {
    await using ctx = await PipelineContext.open();
    const project = await ctx.createProject();
    const me = (await ctx.as(project, 'client', 'POST', '/api/v1/auth/password/sign-up', { email: 'me@example.com', password: 'a good password' })).body;
    const someoneElse = await ctx.createUser(project, {});
    const token = String(me.access_token);
    const mine = await ctx.asUser(project, token, 'POST', '/api/v1/contact-channels', { user_id: 'me', type: 'email', value: 'alt@example.com' });
    expect(mine.status).toBe(201);
    const verified = await ctx.asUser(project, token, 'POST', '/api/v1/contact-channels', { user_id: 'me', type: 'email', value: 'v@example.com', is_verified: true });
    expect(verified.body.code).toBe('SCHEMA_ERROR');
    const foreign = await ctx.asUser(project, token, 'POST', '/api/v1/contact-channels', { user_id: someoneElse, type: 'email', value: 'x@example.com' });
    expect(foreign.body.code).toBe('USER_NOT_FOUND');
    const listed = await ctx.asUser(project, token, 'GET', '/api/v1/contact-channels?user_id=me');
    expect((listed.body.items as { value: string }[]).map((item) => item.value).sort()).toEqual(['alt@example.com', 'me@example.com']);
    const withoutToken = await ctx.as(project, 'client', 'GET', '/api/v1/contact-channels?user_id=me');
    expect(withoutToken.body.code).toBe('USER_AUTHENTICATION_REQUIRED');
  });
});
