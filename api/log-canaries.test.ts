import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { PipelineContext, type TestProject } from '../e2e/harness/pipeline-context';
import { routeCatalog, type RouteDoc } from './route-catalog';
import { expectConverged } from '../e2e/harness/oracle';
import { PartProcess } from '../e2e/harness/part-process';
import { waitFor } from '../infra/wait-for';

/**
 * Nothing a client sends may reach a log line (issue 11: a server error logged its SQL with every
 * parameter). A hostile run plants a canary in every field of every route's body, in path
 * parameters, query strings and credential headers — once against a working database, once against
 * one that refuses every write carrying the canary, so that each write path fails with a database
 * error — and every line the process logs is captured and searched for it.
 */

// Lower case: addresses are lower-cased on the way in, and the search ignores case anyway.
const canary = 'zq7canary';

/** The database refuses every row carrying the canary: each write that reaches it becomes a 500. */
const trapSql = `
  CREATE FUNCTION canary_trap() RETURNS trigger LANGUAGE plpgsql AS $$
  BEGIN
    IF row_to_json(NEW)::text ILIKE '%${canary}%' THEN RAISE EXCEPTION 'write refused by the test'; END IF;
    RETURN NEW;
  END $$;
  ${['Project', 'ProjectUser', 'ContactChannel', 'OtpCode', 'EmailOutbox', 'PasswordCredential', 'OAuthAccount', 'SignUpRuleTrigger']
    .map((table) => `CREATE TRIGGER canary_trap BEFORE INSERT OR UPDATE ON "${table}" FOR EACH ROW EXECUTE FUNCTION canary_trap();`)
    .join('\n')}`;

function fieldsOf(route: RouteDoc): string[] {
  const schema = route.body as unknown as { shape?: Record<string, unknown>; def?: { in?: { shape?: Record<string, unknown> }; schema?: { shape?: Record<string, unknown> } } } | undefined;
  return Object.keys(schema?.shape ?? schema?.def?.in?.shape ?? schema?.def?.schema?.shape ?? {});
}

/** Bodies that carry the canary into every field: alone, nested, malformed, and in requests that are valid. */
function canaryBodies(route: RouteDoc, ids: { userId: string }): unknown[] {
  const fields = fieldsOf(route);
  const perField = fields.flatMap((field) => [
    { [field]: canary },
    { [field]: `${canary}@example.com` },
    { [field]: { [canary]: canary } },
    { [field]: [canary] },
    { [field]: `${canary}\udfff` },
    { [field]: { [canary]: 9007199254740993 } },
  ]);
  const everything = Object.fromEntries(fields.map((field) => [field, canary]));
  const email = `${canary}@example.com`;
  const valid: Record<string, unknown[]> = {
    'post /internal/projects': [{ display_name: canary }],
    'patch /internal/config': [
      { auth: { trusted_domains: [`https://${canary}.example.com`] } },
      { auth: { sign_up_rules: { [canary]: { condition: `email.matches("${canary}(") || email == "${canary}"`, action: { type: 'log', message: canary } } } } },
      { auth: { sign_up_rules: { [canary]: { condition: `${canary}(`, action: { type: 'log' } } } } },
    ],
    'post /internal/sign-up-rules/evaluate': [
      { email, auth_method: 'oauth', oauth_provider: canary },
      { email, auth_method: 'password', sign_up_rules: { [canary]: { condition: `email.matches(email + "(")`, action: { type: 'reject', message: canary } } } },
    ],
    'post /auth/password/sign-up': [{ email, password: `${canary}-password` }],
    'post /auth/password/sign-in': [{ email, password: `${canary}-password` }],
    'post /auth/otp/send-sign-in-code': [{ email }],
    'post /auth/otp/sign-in': [{ nonce: '00000000-0000-4000-8000-000000000000', code: '123456' }],
    'post /auth/oauth/callback/apple/native': [{ id_token: canary }],
    'patch /users/me': [{ display_name: canary, client_metadata: { [canary]: canary } }],
    'post /users': [{ display_name: canary, primary_email: `${canary}2@example.com`, server_metadata: { note: canary } }],
    'patch /users/{userId}': [{ display_name: canary, restricted_by_admin: true, restricted_by_admin_reason: canary, restricted_by_admin_private_details: canary }],
    'post /contact-channels': [{ user_id: ids.userId, type: 'email', value: `${canary}3@example.com`, used_for_auth: true }],
    'patch /contact-channels/{userId}/{channelId}': [{ value: `${canary}4@example.com` }],
  };
  return [...perField, everything, ...(valid[`${route.method} ${route.path}`] ?? []), `{"${canary}": `];
}

interface Caller {
  project: TestProject;
  userId: string;
  channelId: string;
  accessToken: string;
}

function headersFor(ctx: PipelineContext, route: RouteDoc, caller: Caller, accessToken: string): Record<string, string> {
  if (route.access === 'public') return {};
  if (route.access === 'internal-admin-key') return { 'x-stack-internal-admin-key': ctx.config.STACK_INTERNAL_ADMIN_KEY };
  const { project } = caller;
  const base = { 'x-stack-project-id': project.id, 'x-stack-access-token': accessToken, 'x-stack-refresh-token': `${canary}-refresh` };
  if (route.access.includes('admin')) return { ...base, 'x-stack-access-type': 'admin', 'x-stack-super-secret-admin-key': project.superSecretAdminKey };
  if (route.access.includes('server')) return { ...base, 'x-stack-access-type': 'server', 'x-stack-secret-server-key': project.secretServerKey };
  return { ...base, 'x-stack-access-type': 'client', 'x-stack-publishable-client-key': project.publishableClientKey };
}

function pathsFor(route: RouteDoc, caller: Caller): string[] {
  const concrete = (userId: string, channelId: string) =>
    `/api/v1${route.path.replace('{projectId}', caller.project.id).replace('{userId}', userId).replace('{channelId}', channelId)}`;
  const paths = [concrete(caller.userId, caller.channelId)];
  if (route.path.includes('{')) paths.push(concrete(canary, canary));
  if (route.method === 'get') paths.push(`${paths[0]}?user_id=${canary}&cursor=${canary}&limit=${canary}`);
  return paths;
}

describe('logs never carry request values', () => {
  let logged: string[] = [];
  const quiet = process.env.STACK_SYNC_QUIET;

  beforeEach(() => {
    logged = [];
    // Info lines too: the test environment silences them otherwise.
    process.env.STACK_SYNC_QUIET = '0';
    const capture = (chunk: unknown) => {
      logged.push(typeof chunk === 'string' ? chunk : Buffer.isBuffer(chunk) ? chunk.toString('utf8') : String(chunk));
      return true;
    };
    vi.spyOn(process.stdout, 'write').mockImplementation(capture);
    vi.spyOn(process.stderr, 'write').mockImplementation(capture);
    for (const method of ['log', 'info', 'warn', 'error', 'debug'] as const) {
      vi.spyOn(console, method).mockImplementation((...parts: unknown[]) => void capture(parts.map(String).join(' ')));
    }
  });

  afterEach(() => {
    vi.restoreAllMocks();
    process.env.STACK_SYNC_QUIET = quiet;
  });

  it('no canary planted in any route’s input appears in any log line, also when the database fails', async () => {
    await using ctx = await PipelineContext.open({ SIGN_IN_RATE_LIMIT_PER_IP: '100000', SIGN_IN_RATE_LIMIT_PER_EMAIL: '100000' });
    const project = await ctx.createProject();
    /** A signed-in user with a channel, fresh for each run: the run signs out and deletes its caller. */
    const newCaller = async (email: string): Promise<Caller> => {
      const signUp = await ctx.as(project, 'client', 'POST', '/api/v1/auth/password/sign-up', { email, password: 'a good password' });
      const channels = await ctx.as(project, 'server', 'GET', `/api/v1/contact-channels?user_id=${signUp.body.user_id}`);
      return {
        project,
        userId: String(signUp.body.user_id),
        channelId: String((channels.body.items as { id: string }[])[0]?.id),
        accessToken: String(signUp.body.access_token),
      };
    };
    // Deleting routes last, so the others still find the caller.
    const routes = [...routeCatalog.filter((route) => route.method !== 'delete'), ...routeCatalog.filter((route) => route.method === 'delete')];

    const statuses: number[] = [];
    const run = async (caller: Caller) => {
      for (const route of routes) {
        const bodies = route.method === 'get' || route.method === 'delete' ? [undefined] : canaryBodies(route, caller);
        for (const path of pathsFor(route, caller)) {
          for (const accessToken of [caller.accessToken, canary]) {
            for (const body of bodies) {
              const response = await ctx.request(route.method.toUpperCase(), path, { body, headers: headersFor(ctx, route, caller, accessToken) });
              statuses.push(response.status);
              // A 500 says nothing either.
              if (response.status >= 500) expect(JSON.stringify(response.body).toLowerCase()).not.toContain(canary);
            }
          }
        }
      }
    };

    await run(await newCaller('first@example.com'));
    await ctx.internal.query(trapSql);
    const beforeTrap = statuses.length;
    await run(await newCaller('second@example.com'));

    const serverErrors = statuses.slice(beforeTrap).filter((status) => status >= 500).length;
    // The trap did make write paths fail, and their errors were logged (the capture works).
    expect(serverErrors).toBeGreaterThan(5);
    expect(logged.filter((line) => line.includes('unhandled error')).length).toBeGreaterThanOrEqual(serverErrors);
    expect(logged.some((line) => line.includes('email written to the outbox'))).toBe(true);
    const leaks = logged.filter((line) => line.toLowerCase().includes(canary));
    expect(leaks.slice(0, 3)).toEqual([]);
  });
});

describe('logs never carry secrets', () => {
  // Issue 15: a full flow through every process — API in this process, reader and sink as their own
  // processes, as deployed — with a failing external database, pauses and a rebuild; no line of any
  // process may hold a key, a token, a password or a connection string's password.
  it('no key, token or password appears in any log line of any process during a full flow', async () => {
    let logged: string[] = [];
    const quiet = process.env.STACK_SYNC_QUIET;
    process.env.STACK_SYNC_QUIET = '0';
    const capture = (chunk: unknown) => {
      logged.push(typeof chunk === 'string' ? chunk : Buffer.isBuffer(chunk) ? chunk.toString('utf8') : String(chunk));
      return true;
    };
    vi.spyOn(process.stdout, 'write').mockImplementation(capture);
    vi.spyOn(process.stderr, 'write').mockImplementation(capture);
    const parts: PartProcess[] = [];
    try {
      await using ctx = await PipelineContext.open();
      for (const part of ['cdc', 'sink'] as const) {
        const child = new PartProcess(part, ctx.config, `stack-sync-${part}`, [], { env: { STACK_SYNC_QUIET: '0' }, keepOutputChars: 10_000_000 });
        child.start();
        parts.push(child);
      }
      const project = await ctx.createProject();
      const external = await ctx.createExternalDatabase();
      const externalPassword = new URL(external).password;
      expect(externalPassword.length).toBeGreaterThan(0);
      // A second database with a password of its own, behind a port that refuses connections: it fails and is logged.
      const refusing = new URL(external);
      refusing.port = '1';
      refusing.password = 'Refusing-Db-Secret-77';
      await ctx.setExternalDatabases(project, { main: external, down: refusing.toString() });
      const password = 'Correct-Horse-Battery-91';
      const signUp = await ctx.as(project, 'client', 'POST', '/api/v1/auth/password/sign-up', { email: 'ops@example.com', password });
      const refresh = await ctx.request('POST', '/api/v1/auth/sessions/current/refresh', {
        body: {},
        headers: { 'x-stack-project-id': project.id, 'x-stack-access-type': 'client', 'x-stack-publishable-client-key': project.publishableClientKey, 'x-stack-refresh-token': String(signUp.body.refresh_token) },
      });
      await ctx.insertUsers(project.tenancyId, 50, 'flow-');
      await expectConverged(ctx.internal, project.tenancyId, external, 60_000);
      await ctx.as(project, 'admin', 'POST', '/api/v1/internal/db-sync/external-databases/main/pause', {});
      await ctx.createUser(project, { display_name: 'while paused' });
      await ctx.as(project, 'admin', 'POST', '/api/v1/internal/db-sync/external-databases/main/resume', {});
      await ctx.as(project, 'admin', 'POST', '/api/v1/internal/db-sync/external-databases/main/rebuild', {});
      await waitFor('the rebuild to finish', async () => {
        const status = await ctx.as(project, 'admin', 'GET', '/api/v1/internal/db-sync/status');
        return (status.body.external_databases as { id: string; rebuild: { state: string } | null }[]).some((database) => database.id === 'main' && database.rebuild?.state === 'done');
      }, { timeoutMs: 60_000 });
      await expectConverged(ctx.internal, project.tenancyId, external, 60_000);
      await waitFor('the failing database to be logged', async () => parts[1]!.output.includes('SINK_TARGET_UNREACHABLE'), { timeoutMs: 20_000 });

      const secrets = [
        project.publishableClientKey,
        project.secretServerKey,
        project.superSecretAdminKey,
        ctx.config.STACK_INTERNAL_ADMIN_KEY,
        ctx.config.STACK_SECRET_KEY,
        password,
        String(signUp.body.access_token),
        String(signUp.body.refresh_token),
        String(refresh.body.access_token),
        String(refresh.body.refresh_token),
        externalPassword,
        'Refusing-Db-Secret-77',
      ];
      for (const secret of secrets) expect(secret.length).toBeGreaterThan(8);
      const lines = [...logged.join('').split('\n'), ...parts.flatMap((part) => part.output.split('\n'))].filter((line) => line.trim() !== '');
      // The capture works: every process logged something.
      expect(parts.every((part) => part.output.includes('"level"'))).toBe(true);
      const leaks = lines.filter((line) => secrets.some((secret) => line.includes(secret)));
      expect(leaks.slice(0, 3)).toEqual([]);
      // One shape for every line a process logs.
      const shapeless = parts.flatMap((part) => part.output.split('\n')).filter((line) => line.trim() !== '' && !isLogLine(line));
      expect(shapeless.slice(0, 3)).toEqual([]);
    } finally {
      for (const part of parts) await part.stop();
      vi.restoreAllMocks();
      process.env.STACK_SYNC_QUIET = quiet;
      logged = [];
    }
  });
});

function isLogLine(line: string): boolean {
  try {
    const parsed: unknown = JSON.parse(line);
    if (typeof parsed !== 'object' || parsed === null) return false;
    const { time, level, part, message } = parsed as Record<string, unknown>;
    return typeof time === 'string' && ['info', 'warn', 'error'].includes(String(level)) && typeof part === 'string' && typeof message === 'string';
  } catch {
    return false;
  }
}
