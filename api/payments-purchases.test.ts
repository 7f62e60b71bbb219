import { describe, expect, it } from 'vitest';
import { PipelineContext } from '../e2e/harness/pipeline-context';
import { buy, completePurchase, itemQuantity, processorLedger, sampleCatalogue, saveCatalogue, signUp } from '../e2e/harness/payment-fixtures';

describe('payments catalogue in the project config', () => {
  it('stores prices as exact cents and shows them as two-decimal USD strings', async () => {
    await using ctx = await PipelineContext.open();
    const project = await ctx.createProject();
    await saveCatalogue(ctx, project);
    // Stored as integer cents: "12.5" is 1250, not the 125 the design this replaces sent.
    const stored = await ctx.internal.query<{ config: { payments: { products: Record<string, { priceCents: number }> } } }>('SELECT config FROM "Project" WHERE id = $1', [project.id]);
    expect(stored.rows[0]!.config.payments.products.pro!.priceCents).toBe(1250);
    expect(stored.rows[0]!.config.payments.products['org-pack']!.priceCents).toBe(10_000);
    const read = await ctx.as(project, 'admin', 'GET', '/api/v1/internal/config');
    expect((read.body.payments as { products: Record<string, unknown> }).products.pro).toEqual({
      display_name: 'Pro',
      customer_type: 'user',
      price_usd: '12.50',
      interval: 'one-time',
      included_items: { seats: { quantity: 5 }, credits: { quantity: 100 } },
    });
    // Other config fields leave the catalogue alone.
    await ctx.setAuthConfig(project, { otp_enabled: false });
    expect(Object.keys(((await ctx.as(project, 'admin', 'GET', '/api/v1/internal/config')).body.payments as { products: object }).products)).toHaveLength(4);
  });

  it('refuses bad money, unknown items and mismatched customer types with 400 SCHEMA_ERROR naming the field, keeping the saved catalogue', async () => {
    await using ctx = await PipelineContext.open();
    const project = await ctx.createProject();
    await saveCatalogue(ctx, project);
    const product = (change: Record<string, unknown>) => ({ products: { broken: { display_name: 'x', customer_type: 'user', price_usd: '1', ...change } }, items: sampleCatalogue.items });
    const cases: [Record<string, unknown>, string][] = [
      [product({ price_usd: '12.345' }), 'payments.products.broken.price_usd'],
      [product({ price_usd: '-1' }), 'payments.products.broken.price_usd'],
      [product({ price_usd: '1e3' }), 'payments.products.broken.price_usd'],
      [product({ price_usd: 12.5 }), 'payments.products.broken.price_usd'],
      [product({ price_usd: '' }), 'payments.products.broken.price_usd'],
      [product({ price_usd: '99999999999' }), 'payments.products.broken.price_usd'],
      [product({ interval: 'week' }), 'payments.products.broken.interval'],
      [product({ customer_type: 'org' }), 'payments.products.broken.customer_type'],
      [product({ included_items: { nowhere: { quantity: 1 } } }), 'payments.products.broken.included_items.nowhere'],
      [product({ included_items: { 'team-seats': { quantity: 1 } } }), 'payments.products.broken.included_items.team-seats'],
      [product({ included_items: { seats: { quantity: 1.5 } } }), 'payments.products.broken.included_items.seats.quantity'],
      [{ products: { 'bad id': { customer_type: 'user', price_usd: '1' } } }, 'payments.products'],
    ];
    for (const [payments, field] of cases) {
      const response = await ctx.as(project, 'admin', 'PATCH', '/api/v1/internal/config', { payments });
      expect([response.status, response.body.code], field).toEqual([400, 'SCHEMA_ERROR']);
      expect(String(response.body.error), field).toContain(field);
    }
    const read = await ctx.as(project, 'admin', 'GET', '/api/v1/internal/config');
    expect(Object.keys((read.body.payments as { products: object }).products).sort()).toEqual(['monthly', 'org-pack', 'pro', 'team-plan']);
  });
});

describe('purchases through the test processor', () => {
  it('records a one-time purchase with its entries in exact cents, charges once, and grants its items', async () => {
    await using ctx = await PipelineContext.open();
    const project = await ctx.createProject();
    await saveCatalogue(ctx, project);
    const me = await signUp(ctx, project, 'buyer@example.com');
    const url = await ctx.asUser(project, me.token, 'POST', '/api/v1/payments/purchases/create-purchase-url', { customer_type: 'user', customer_id: me.userId, product_id: 'pro', quantity: 3 });
    expect(url.status).toBe(201);
    expect(url.body.amount_usd).toBe('37.50');
    expect(String(url.body.url)).toContain(String(url.body.code));
    expect(await itemQuantity(ctx, project, { type: 'user', id: me.userId }, 'seats')).toBe(0);

    const completed = await completePurchase(ctx, String(url.body.code));
    expect(completed.body).toMatchObject({ purchase_type: 'one-time-purchase' });
    // Completing again (a second click, a retry after a lost answer) is the same purchase, charged once.
    const again = await completePurchase(ctx, String(url.body.code));
    expect(again.body).toEqual(completed.body);
    expect((await processorLedger(ctx, project)).charges.map((charge) => charge.amount_usd)).toEqual(['37.50']);

    expect(await itemQuantity(ctx, project, { type: 'user', id: me.userId }, 'seats')).toBe(15);
    expect(await itemQuantity(ctx, project, { type: 'user', id: me.userId }, 'credits')).toBe(300);
    const items = await ctx.asUser(project, me.token, 'GET', `/api/v1/payments/items/user/${me.userId}`);
    expect(items.body.items).toEqual([
      { id: 'credits', display_name: 'Credits', quantity: 300 },
      { id: 'seats', display_name: 'Seats', quantity: 15 },
    ]);
    const products = await ctx.asUser(project, me.token, 'GET', `/api/v1/payments/products/user/${me.userId}`);
    expect(products.body.items).toEqual([{ id: 'pro', display_name: 'Pro', quantity: 3, type: 'one-time-purchase', purchase_id: completed.body.purchase_id, test_mode: false }]);

    const stored = await ctx.internal.query('SELECT "entryIndex", type, "itemId", quantity, "unitPriceCents", "amountCents" FROM "PurchaseEntry" WHERE "purchaseId" = $1 ORDER BY "entryIndex"', [completed.body.purchase_id]);
    expect(stored.rows).toEqual([
      { entryIndex: 0, type: 'product_grant', itemId: null, quantity: 3, unitPriceCents: '1250', amountCents: '3750' },
      { entryIndex: 1, type: 'item_quantity_change', itemId: 'credits', quantity: 300, unitPriceCents: null, amountCents: null },
      { entryIndex: 2, type: 'item_quantity_change', itemId: 'seats', quantity: 15, unitPriceCents: null, amountCents: null },
    ]);
    const purchase = await ctx.internal.query('SELECT "chargedCents", currency, "testMode" FROM "OneTimePurchase" WHERE id = $1', [completed.body.purchase_id]);
    expect(purchase.rows[0]).toEqual({ chargedCents: '3750', currency: 'USD', testMode: false });
    const events = await ctx.internal.query<{ data: { amount_usd: string } }>(`SELECT data FROM "AnalyticsEvent" WHERE type = 'purchase'`);
    expect(events.rows.map((row) => row.data.amount_usd)).toEqual(['37.50']);
  });

  it('records a subscription with its invoice; test mode and server grants charge nothing and are marked test_mode', async () => {
    await using ctx = await PipelineContext.open();
    const project = await ctx.createProject();
    await saveCatalogue(ctx, project);
    const me = await signUp(ctx, project, 'sub@example.com');
    const customer = { type: 'user', id: me.userId };
    const bought = await buy(ctx, project, customer, 'monthly', 2);
    expect(bought.purchaseType).toBe('subscription');
    const invoice = await ctx.internal.query('SELECT "chargedCents", currency FROM "SubscriptionInvoice" WHERE "subscriptionId" = $1', [bought.purchaseId]);
    expect(invoice.rows).toEqual([{ chargedCents: '998', currency: 'USD' }]);
    expect(await itemQuantity(ctx, project, customer, 'seats')).toBe(4);

    const granted = await ctx.as(project, 'server', 'POST', `/api/v1/payments/products/user/${me.userId}`, { product_id: 'pro' });
    expect(granted.status).toBe(201);
    await saveCatalogue(ctx, project, { test_mode: true });
    await buy(ctx, project, customer, 'pro');
    expect(await itemQuantity(ctx, project, customer, 'seats')).toBe(4 + 5 + 5);
    const testMode = await ctx.internal.query('SELECT "testMode", currency, "chargedCents" FROM "OneTimePurchase" ORDER BY "createdAt"');
    expect(testMode.rows).toEqual([
      { testMode: true, currency: null, chargedCents: '0' },
      { testMode: true, currency: null, chargedCents: '0' },
    ]);
    expect((await processorLedger(ctx, project)).charges).toHaveLength(1);
  });

  it('refuses a product of another customer type, an unknown product and an unknown code', async () => {
    await using ctx = await PipelineContext.open();
    const project = await ctx.createProject();
    await saveCatalogue(ctx, project);
    const me = await signUp(ctx, project, 'x@example.com');
    const mismatch = await ctx.as(project, 'server', 'POST', '/api/v1/payments/purchases/create-purchase-url', { customer_type: 'user', customer_id: me.userId, product_id: 'team-plan' });
    expect([mismatch.status, mismatch.body.code]).toEqual([400, 'PRODUCT_CUSTOMER_TYPE_DOES_NOT_MATCH']);
    const unknown = await ctx.as(project, 'server', 'POST', '/api/v1/payments/purchases/create-purchase-url', { customer_type: 'user', customer_id: me.userId, product_id: 'nope' });
    expect([unknown.status, unknown.body.code]).toEqual([404, 'PRODUCT_NOT_FOUND']);
    const code = await completePurchase(ctx, 'A'.repeat(43));
    expect([code.status, code.body.code]).toEqual([404, 'PURCHASE_SESSION_NOT_FOUND']);
    // An expired purchase URL can no longer be paid.
    const url = await ctx.as(project, 'server', 'POST', '/api/v1/payments/purchases/create-purchase-url', { customer_type: 'user', customer_id: me.userId, product_id: 'pro' });
    await ctx.internal.query(`UPDATE "PurchaseSession" SET "expiresAt" = (now() AT TIME ZONE 'UTC') - interval '1 second' WHERE id = $1`, [url.body.session_id]);
    const expired = await completePurchase(ctx, String(url.body.code));
    expect([expired.status, expired.body.code]).toEqual([404, 'PURCHASE_SESSION_NOT_FOUND']);
    expect((await processorLedger(ctx, project)).charges).toEqual([]);
  });

  it('leaves nothing recorded when the processor is down at checkout, and a retry charges once', async () => {
    await using ctx = await PipelineContext.open();
    const project = await ctx.createProject();
    await saveCatalogue(ctx, project);
    const url = await ctx.as(project, 'server', 'POST', '/api/v1/payments/purchases/create-purchase-url', { customer_type: 'custom', customer_id: 'org-7', product_id: 'org-pack' });
    await ctx.as(project, 'admin', 'POST', '/api/v1/internal/payments/test-processor/faults', { operation: 'charge', mode: 'lost_response', remaining: 1 });
    const lost = await completePurchase(ctx, String(url.body.code));
    expect([lost.status, lost.body.code]).toEqual([503, 'PAYMENT_PROCESSOR_UNAVAILABLE']);
    expect((await ctx.internal.query('SELECT 1 FROM "OneTimePurchase"')).rowCount).toBe(0);
    const retried = await completePurchase(ctx, String(url.body.code));
    expect(retried.status).toBe(200);
    expect((await processorLedger(ctx, project)).charges.map((charge) => charge.amount_usd)).toEqual(['100.00']);
    expect(await itemQuantity(ctx, project, { type: 'custom', id: 'org-7' }, 'org-credits')).toBe(1000);
  });
});

describe('who may act for a customer', () => {
  it('follows DESIGN.md for clients; server keys act for any customer of their own project only', async () => {
    await using ctx = await PipelineContext.open();
    const project = await ctx.createProject();
    const other = await ctx.createProject('other');
    await saveCatalogue(ctx, project);
    const me = await signUp(ctx, project, 'me@example.com');
    const you = await signUp(ctx, project, 'you@example.com');
    const myTeam = String((await ctx.asUser(project, me.token, 'POST', '/api/v1/teams', { display_name: 'Mine' })).body.id);
    const yourTeam = String((await ctx.asUser(project, you.token, 'POST', '/api/v1/teams', { display_name: 'Yours' })).body.id);
    // I am a member of your team, without team_admin.
    expect((await ctx.asUser(project, you.token, 'POST', `/api/v1/team-memberships/${yourTeam}/${me.userId}`)).status).toBe(201);
    const strangersTeam = String((await ctx.as(project, 'server', 'POST', '/api/v1/teams', { display_name: 'Strangers' })).body.id);

    const purchaseUrl = (token: string | undefined, customerType: string, customerId: string, productId: string) =>
      ctx.request('POST', '/api/v1/payments/purchases/create-purchase-url', {
        body: { customer_type: customerType, customer_id: customerId, product_id: productId },
        headers: {
          'x-stack-project-id': project.id,
          'x-stack-access-type': 'client',
          'x-stack-publishable-client-key': project.publishableClientKey,
          ...(token ? { 'x-stack-access-token': token } : {}),
        },
      });
    const cases: [string, Awaited<ReturnType<typeof purchaseUrl>>, number, string?][] = [
      ['own user', await purchaseUrl(me.token, 'user', me.userId, 'pro'), 201],
      ['no signed-in user', await purchaseUrl(undefined, 'user', me.userId, 'pro'), 401, 'USER_AUTHENTICATION_REQUIRED'],
      ['another user', await purchaseUrl(me.token, 'user', you.userId, 'pro'), 403, 'CUSTOMER_ACCESS_FORBIDDEN'],
      ['a custom customer', await purchaseUrl(me.token, 'custom', 'org-1', 'org-pack'), 403, 'CUSTOMER_ACCESS_FORBIDDEN'],
      ['a team it is not in', await purchaseUrl(me.token, 'team', strangersTeam, 'team-plan'), 404, 'TEAM_MEMBERSHIP_NOT_FOUND'],
      ['a team without team_admin', await purchaseUrl(me.token, 'team', yourTeam, 'team-plan'), 401, 'TEAM_PERMISSION_REQUIRED'],
      ['its own team (team_admin)', await purchaseUrl(me.token, 'team', myTeam, 'team-plan'), 201],
    ];
    for (const [label, response, status, code] of cases) {
      expect(response.status, label).toBe(status);
      if (code) expect([response.body.code, response.headers.get('x-stack-known-error')], label).toEqual([code, code]);
    }
    // Reading follows the same rules.
    expect((await ctx.asUser(project, me.token, 'GET', `/api/v1/payments/items/user/${you.userId}`)).status).toBe(403);
    expect((await ctx.asUser(project, me.token, 'GET', `/api/v1/payments/products/team/${strangersTeam}`)).body.code).toBe('TEAM_MEMBERSHIP_NOT_FOUND');
    expect((await ctx.asUser(project, me.token, 'GET', `/api/v1/payments/items/team/${myTeam}/team-seats`)).body).toEqual({ id: 'team-seats', display_name: 'Team seats', quantity: 0 });

    // Server and admin keys: any customer of their project; another project's users and teams do not exist.
    for (const accessType of ['server'] as const) {
      expect((await ctx.as(project, accessType, 'GET', `/api/v1/payments/items/user/${you.userId}`)).status).toBe(200);
      expect((await ctx.as(project, accessType, 'GET', '/api/v1/payments/items/custom/org-1')).status).toBe(200);
      const foreignUser = await ctx.as(other, accessType, 'GET', `/api/v1/payments/items/user/${you.userId}`);
      expect([foreignUser.status, foreignUser.body.code]).toEqual([404, 'USER_NOT_FOUND']);
      const foreignTeam = await ctx.as(other, accessType, 'POST', '/api/v1/payments/purchases/create-purchase-url', { customer_type: 'team', customer_id: myTeam, product_id: 'team-plan' });
      expect([foreignTeam.status, foreignTeam.body.code]).toEqual([404, 'TEAM_NOT_FOUND']);
    }
  });
});
