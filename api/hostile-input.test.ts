import { describe, expect, it } from 'vitest';
import type { z } from 'zod';
import { saveCatalogue } from '../e2e/harness/payment-fixtures';
import { PipelineContext, type TestProject } from '../e2e/harness/pipeline-context';
import { routeCatalog, type RouteDoc } from './route-catalog';

const sourceTables = ['Project', 'Tenancy', 'ProjectUser', 'ContactChannel', 'PasswordCredential', 'AuthSession', 'RefreshToken', 'OtpCode', 'EmailOutbox', 'OAuthAccount', 'SigningKey', 'SignUpRuleTrigger', 'AnalyticsEvent', 'AnalyticsQuery', 'Team', 'TeamMember', 'PurchaseSession', 'OneTimePurchase', 'Subscription', 'SubscriptionInvoice', 'PurchaseEntry', 'PurchaseRefund', 'PurchaseRefundEntry', 'TestProcessorCharge', 'TestProcessorRefund', 'TestProcessorFault'];

async function rowCounts(ctx: PipelineContext): Promise<Record<string, number>> {
  const counts: Record<string, number> = {};
  for (const table of sourceTables) counts[table] = Number((await ctx.internal.query(`SELECT count(*) FROM "${table}"`)).rows[0].count);
  return counts;
}

/** JSON text nested `levels` deep, built as text: JSON.stringify itself would overflow the stack. */
function deeplyNestedBody(levels: number): string {
  return `{"client_metadata":${'{"next":'.repeat(levels)}"bottom"${'}'.repeat(levels)}}`;
}

/** Bodies no route should accept, plus per-field wrong types for each field the schema names. */
function hostileBodies(schema: z.ZodType | undefined, fields: string[]): unknown[] {
  const generic: unknown[] = ['{"unterminated": ', '[]', 'null', '42', '"a string"', { unexpected_field_xyz: 1 }, deeplyNestedBody(5_000)];
  const perField = fields.flatMap((field) => [12345, 'x'.repeat(100_001), { nested: { deep: true } }, [1, 2, 3], true, null, '\u0000'].map((value) => ({ [field]: value })));
  // Only field values that the route's own schema rejects are hostile; a valid one would rightly
  // succeed. The generic bodies are invalid for every route (strict schemas, depth limit).
  return [...generic, ...perField.filter((body) => !schema || !schema.safeParse(body).success)];
}

function fieldsOf(schema: z.ZodType): string[] {
  const shape = (schema as unknown as { shape?: Record<string, unknown>; def?: { in?: { shape?: Record<string, unknown> }; schema?: { shape?: Record<string, unknown> } } });
  return Object.keys(shape.shape ?? shape.def?.in?.shape ?? shape.def?.schema?.shape ?? {});
}

interface Caller {
  project: TestProject;
  userToken: string;
  userId: string;
  channelId: string;
  /** A team the signed-in user holds team_admin of. */
  teamId: string;
}

function headersFor(ctx: PipelineContext, route: RouteDoc, caller: Caller): Record<string, string> {
  if (route.access === 'public') return {};
  if (route.access === 'internal-admin-key') return { 'x-stack-internal-admin-key': ctx.config.STACK_INTERNAL_ADMIN_KEY };
  const { project } = caller;
  const base = { 'x-stack-project-id': project.id, 'x-stack-access-token': caller.userToken };
  if (route.access.includes('admin')) return { ...base, 'x-stack-access-type': 'admin', 'x-stack-super-secret-admin-key': project.superSecretAdminKey };
  if (route.access.includes('server')) return { ...base, 'x-stack-access-type': 'server', 'x-stack-secret-server-key': project.secretServerKey };
  return { ...base, 'x-stack-access-type': 'client', 'x-stack-publishable-client-key': project.publishableClientKey };
}

function concretePath(route: RouteDoc, caller: Caller): string {
  return `/api/v1${route.path
    .replace('{projectId}', caller.project.id)
    .replace('{userId}', caller.userId)
    .replace('{channelId}', caller.channelId)
    .replace('{teamId}', caller.teamId)
    .replace('{customerType}', 'user')
    .replace('{customerId}', caller.userId)
    .replace('{itemId}', 'seats')
    .replace('{permissionId}', 'team_admin')}`;
}

describe('hostile input', () => {
  it('the route catalog (OpenAPI source) lists exactly the routes the app serves', async () => {
    await using ctx = await PipelineContext.open();
    const served = new Set(
      ctx.app.routes
        .filter((route) => route.path.startsWith('/api/v1/') && route.method !== 'ALL')
        .map((route) => `${route.method.toLowerCase()} ${route.path.slice('/api/v1'.length).replace(/:(\w+)/g, '{$1}')}`),
    );
    served.delete('get /openapi.json');
    served.delete('get /docs');
    expect([...served].sort()).toEqual(routeCatalog.map((route) => `${route.method} ${route.path}`).sort());
    const document = await ctx.request('GET', '/api/v1/openapi.json');
    expect(document.body.openapi).toBe('3.1.0');
    expect(Object.keys(document.body.paths as object)).toContain('/users/{userId}');
    const docs = await ctx.app.request('/api/v1/docs');
    expect(docs.headers.get('content-type')).toContain('text/html');
    expect(await docs.text()).toContain('/api/v1/auth/password/sign-in');
  });

  it('answers malformed bodies on every route with a 4xx and a known code, never a 5xx, and writes nothing', async () => {
    await using ctx = await PipelineContext.open();
    const project = await ctx.createProject();
    const signUp = await ctx.as(project, 'client', 'POST', '/api/v1/auth/password/sign-up', { email: 'victim@example.com', password: 'a good password' });
    const channels = await ctx.as(project, 'server', 'GET', `/api/v1/contact-channels?user_id=${signUp.body.user_id}`);
    await saveCatalogue(ctx, project);
    const team = await ctx.asUser(project, String(signUp.body.access_token), 'POST', '/api/v1/teams', { display_name: 'Hostile' });
    const caller: Caller = {
      project,
      userToken: String(signUp.body.access_token),
      userId: String(signUp.body.user_id),
      channelId: String((channels.body.items as { id: string }[])[0]?.id),
      teamId: String(team.body.id),
    };
    const before = await rowCounts(ctx);
    let requests = 0;
    for (const route of routeCatalog.filter((candidate) => candidate.method !== 'get' && candidate.method !== 'delete')) {
      const bodies = hostileBodies(route.body, route.body ? fieldsOf(route.body) : []);
      for (const body of [...bodies, 'x'.repeat(1_100_000)]) {
        const response = await ctx.request(route.method.toUpperCase(), concretePath(route, caller), { body, headers: headersFor(ctx, route, caller) });
        requests++;
        const label = `${route.method} ${route.path} ${JSON.stringify(body).slice(0, 80)}`;
        expect(response.status, label).toBeGreaterThanOrEqual(400);
        expect(response.status, label).toBeLessThan(500);
        expect(response.headers.get('x-stack-known-error'), label).toBe(response.body.code);
      }
    }
    const badQueries = ['limit=abc', 'limit=-1', 'limit=100000', 'include_restricted=maybe', 'cursor=%00', 'unknown=1'];
    for (const query of badQueries) {
      const response = await ctx.as(project, 'server', 'GET', `/api/v1/users?${query}`);
      expect([response.status, response.body.code], query).toEqual([400, 'SCHEMA_ERROR']);
    }
    const badListQueries: [string, string][] = [
      ['/api/v1/teams', 'user_id=not-a-uuid'],
      ['/api/v1/teams', 'unknown=1'],
      ['/api/v1/internal/payments/transactions', 'limit=-1'],
      ['/api/v1/internal/payments/transactions', 'cursor=%00'],
    ];
    for (const [path, query] of badListQueries) {
      const response = await ctx.as(project, 'admin', 'GET', `${path}?${query}`);
      expect([response.status, response.body.code], `${path}?${query}`).toEqual([400, 'SCHEMA_ERROR']);
    }
    for (const path of ['/api/v1/payments/items/organisation/x', '/api/v1/payments/products/custom/has%20space', '/api/v1/payments/items/user/not-a-uuid/seats']) {
      const response = await ctx.as(project, 'server', 'GET', path);
      expect(response.status, path).toBeGreaterThanOrEqual(400);
      expect(response.status, path).toBeLessThan(500);
      expect(response.headers.get('x-stack-known-error'), path).toBe(response.body.code);
    }
    expect(requests).toBeGreaterThan(100);
    // Sessions may not grow either: no hostile request signed anyone in.
    expect(await rowCounts(ctx)).toEqual(before);
  });
});
