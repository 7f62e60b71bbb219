import { describe, expect, it } from 'vitest';
import { buy, processorLedger, refund, saveCatalogue } from '../e2e/harness/payment-fixtures';
import { PipelineContext, type TestProject } from '../e2e/harness/pipeline-context';
import type { AccessType } from './api-env';
import { routeCatalog } from './route-catalog';

const keyHeader: Record<AccessType, [string, keyof TestProject]> = {
  client: ['x-stack-publishable-client-key', 'publishableClientKey'],
  server: ['x-stack-secret-server-key', 'secretServerKey'],
  admin: ['x-stack-super-secret-admin-key', 'superSecretAdminKey'],
};

describe('project isolation, across every route', () => {
  it('never lets one project’s keys or tokens read or write another project', async () => {
    await using ctx = await PipelineContext.open();
    const victim = await ctx.createProject('victim');
    const attacker = await ctx.createProject('attacker');
    const victimSignUp = await ctx.as(victim, 'client', 'POST', '/api/v1/auth/password/sign-up', { email: 'v@example.com', password: 'a good password' });
    const attackerSignUp = await ctx.as(attacker, 'client', 'POST', '/api/v1/auth/password/sign-up', { email: 'a@example.com', password: 'a good password' });
    const victimUser = String(victimSignUp.body.user_id);
    const victimChannels = await ctx.as(victim, 'server', 'GET', `/api/v1/contact-channels?user_id=${victimUser}`);
    const victimChannel = (victimChannels.body.items as { id: string }[])[0]!.id;
    const victimTeam = String((await ctx.asUser(victim, String(victimSignUp.body.access_token), 'POST', '/api/v1/teams', { display_name: 'Victims' })).body.id);
    await saveCatalogue(ctx, victim);
    await saveCatalogue(ctx, attacker);
    const victimPurchase = await buy(ctx, victim, { type: 'team', id: victimTeam }, 'team-plan');
    const snapshot = async () => ({
      user: (await ctx.as(victim, 'server', 'GET', `/api/v1/users/${victimUser}`)).body,
      teams: (await ctx.as(victim, 'server', 'GET', `/api/v1/teams?user_id=${victimUser}`)).body,
      items: (await ctx.as(victim, 'server', 'GET', `/api/v1/payments/items/team/${victimTeam}`)).body,
      transactions: (await ctx.as(victim, 'admin', 'GET', '/api/v1/internal/payments/transactions')).body,
      processor: await processorLedger(ctx, victim),
    });
    const before = await snapshot();

    const pathFor = (path: string) =>
      `/api/v1${path
        .replace('{projectId}', victim.id)
        .replace('{userId}', victimUser)
        .replace('{channelId}', victimChannel)
        .replace('{teamId}', victimTeam)
        // The victim's team as a customer: for the attacker's own keys, a team that does not exist.
        .replace('{customerType}', 'team')
        .replace('{customerId}', victimTeam)
        .replace('{itemId}', 'team-seats')
        .replace('{permissionId}', 'team_admin')}`;
    const plausibleBody = { display_name: 'pwned', user_id: victimUser, type: 'email', value: 'p@example.com', email: 'v@example.com', password: 'a good password' };
    let attempts = 0;
    for (const route of routeCatalog) {
      if (!Array.isArray(route.access)) continue;
      for (const accessType of route.access as AccessType[]) {
        const [header, key] = keyHeader[accessType];
        // 1. The victim's project id with the attacker's key of the same access type.
        const foreignKey = await ctx.request(route.method.toUpperCase(), pathFor(route.path), {
          body: route.method === 'get' || route.method === 'delete' ? undefined : plausibleBody,
          headers: {
            'x-stack-project-id': victim.id,
            'x-stack-access-type': accessType,
            [header]: String(attacker[key]),
            'x-stack-access-token': String(attackerSignUp.body.access_token),
          },
        });
        attempts++;
        expect(foreignKey.status, `${route.method} ${route.path} as ${accessType} with a foreign key`).toBe(401);

        // 2. The attacker's own, valid credentials aimed at the victim's user and channel ids.
        if (['{userId}', '{teamId}', '{customerId}'].some((name) => route.path.includes(name)) || route.method === 'get' && route.path === '/contact-channels') {
          const ownKeys = await ctx.request(route.method.toUpperCase(), route.path === '/contact-channels' ? `/api/v1/contact-channels?user_id=${victimUser}` : pathFor(route.path), {
            body: route.method !== 'patch' ? undefined : route.path.startsWith('/users') ? { display_name: 'pwned' } : { value: 'p@example.com' },
            headers: {
              'x-stack-project-id': attacker.id,
              'x-stack-access-type': accessType,
              [header]: String(attacker[key]),
              'x-stack-access-token': String(attackerSignUp.body.access_token),
            },
          });
          attempts++;
          // Not "forbidden" but "no such thing": the victim's ids do not exist in the attacker's project.
          expect(ownKeys.status, `${route.method} ${route.path} as attacker ${accessType}: ${JSON.stringify(ownKeys.body)}`).toBe(404);
        }
      }
      // 3. The victim's keys with the attacker's user token, on routes that act as a signed-in user.
      if (route.user) {
        const foreignToken = await ctx.asUser(victim, String(attackerSignUp.body.access_token), route.method.toUpperCase(), pathFor(route.path), route.method === 'patch' ? { display_name: 'pwned' } : undefined);
        attempts++;
        expect([foreignToken.status, foreignToken.body.code]).toEqual([401, 'INVALID_ACCESS_TOKEN']);
      }
    }
    // 4. Payments: the victim's purchase cannot be refunded, listed or bought for by the attacker.
    const foreignRefund = await refund(ctx, attacker, { type: 'subscription', id: victimPurchase.purchaseId, refund_entries: [] });
    attempts++;
    expect([foreignRefund.status, foreignRefund.body.code]).toEqual([404, 'SUBSCRIPTION_INVOICE_NOT_FOUND']);
    expect((await ctx.as(attacker, 'admin', 'GET', '/api/v1/internal/payments/transactions')).body.items).toEqual([]);
    expect(await processorLedger(ctx, attacker)).toEqual({ charges: [], refunds: [] });
    const foreignPurchase = await ctx.as(attacker, 'server', 'POST', '/api/v1/payments/purchases/create-purchase-url', { customer_type: 'team', customer_id: victimTeam, product_id: 'team-plan' });
    attempts++;
    expect([foreignPurchase.status, foreignPurchase.body.code]).toEqual([404, 'TEAM_NOT_FOUND']);
    // 5. Analytics: the victim's query id is unknown to the attacker, whose queries see only its own events.
    const victimQuery = await ctx.as(victim, 'admin', 'POST', '/api/v1/internal/analytics/query', { query: 'SELECT count(*) AS n FROM events' });
    // The sign-up and the purchase.
    expect(victimQuery.body.result).toEqual([{ n: 2 }]);
    for (const accessType of ['server', 'admin'] as const) {
      const timing = await ctx.as(attacker, accessType, 'POST', '/api/v1/internal/analytics/query/timing', { query_id: victimQuery.body.query_id });
      attempts++;
      expect([timing.status, timing.body.code]).toEqual([404, 'ITEM_NOT_FOUND']);
    }
    const attackerEvents = await ctx.as(attacker, 'admin', 'POST', '/api/v1/internal/analytics/query', { query: 'SELECT user_id, project_id FROM events' });
    expect(attackerEvents.body.result).toEqual([{ user_id: attackerSignUp.body.user_id, project_id: attacker.id }]);
    expect(attempts).toBeGreaterThan(40);
    expect(await snapshot()).toEqual(before);
    const victimKeys = (await ctx.request('GET', `/api/v1/projects/${victim.id}/.well-known/jwks.json`)).body.keys as { kid: string }[];
    const attackerKeys = (await ctx.request('GET', `/api/v1/projects/${attacker.id}/.well-known/jwks.json`)).body.keys as { kid: string }[];
    expect(victimKeys.some((key) => attackerKeys.some((other) => other.kid === key.kid))).toBe(false);
  });
});
