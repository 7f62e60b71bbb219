import { describe, expect, it } from 'vitest';
import { PipelineContext, pollExternal } from './harness/pipeline-context';

interface UserRow extends Record<string, unknown> {
  id: string;
  primary_email: string | null;
  restricted_by_admin: boolean;
}

describe('sign-up rules through the pipeline', () => {
  it('a user a rule restricted shows up restricted in the tenant’s external users table; a rejected one never shows up', async () => {
    await using ctx = await PipelineContext.open();
    await ctx.startPipeline();
    const project = await ctx.createProject();
    const external = await ctx.createExternalDatabase();
    await ctx.setExternalDatabases(project, { main: external });
    await ctx.setAuthConfig(project, {
      sign_up_rules: {
        limit: { condition: 'emailDomain == "limited.example"', priority: 2, action: { type: 'restrict' } },
        block: { condition: 'emailDomain == "blocked.example"', priority: 1, action: { type: 'reject' } },
      },
    });
    const signUp = (email: string) => ctx.as(project, 'client', 'POST', '/api/v1/auth/password/sign-up', { email, password: 'a good password' });

    const restricted = await signUp('lim@limited.example');
    expect(restricted.status).toBe(201);
    expect((await signUp('eve@blocked.example')).status).toBe(403);
    // Committed after the rejected attempt: once it is there, the rejected one would be too.
    const free = await signUp('ada@fine.example');
    expect(free.status).toBe(201);

    const rows = await pollExternal<UserRow>(external, 'SELECT id, primary_email, restricted_by_admin FROM users ORDER BY primary_email', (found) => found.length >= 2 && found.every((row) => row.primary_email !== null));
    expect(rows).toEqual([
      { id: free.body.user_id, primary_email: 'ada@fine.example', restricted_by_admin: false },
      { id: restricted.body.user_id, primary_email: 'lim@limited.example', restricted_by_admin: true },
    ]);
  });
});
