import { describe, expect, it } from 'vitest';
import { createApp } from './app';
import { createApiDependencies } from './dependencies';
import { internalDatabasePool } from './start-api';
import { PipelineContext, type TestProject } from '../e2e/harness/pipeline-context';
import { buy, itemQuantity, processorLedger, refund, saveCatalogue, signUp } from '../e2e/harness/payment-fixtures';

async function setFault(ctx: PipelineContext, project: TestProject, mode: 'unavailable' | 'lost_response', remaining: number): Promise<void> {
  const response = await ctx.as(project, 'admin', 'POST', '/api/v1/internal/payments/test-processor/faults', { operation: 'refund', mode, remaining });
  expect(response.status).toBe(200);
}

async function refundRows(ctx: PipelineContext): Promise<number> {
  return Number((await ctx.internal.query('SELECT count(*) FROM "PurchaseRefund"')).rows[0].count);
}

describe('refunds: validation', () => {
  it('answers each bad request with 400 SCHEMA_ERROR and a precise message, and refunds nothing', async () => {
    await using ctx = await PipelineContext.open();
    const project = await ctx.createProject();
    await saveCatalogue(ctx, project);
    const me = await signUp(ctx, project, 'r@example.com');
    const { purchaseId } = await buy(ctx, project, { type: 'user', id: me.userId }, 'pro', 3);
    const entries = (refund_entries: unknown) => ({ type: 'one-time-purchase', id: purchaseId, refund_entries });
    const cases: [unknown, RegExp][] = [
      [entries([{ entry_index: 0, quantity: 1.5, amount_usd: '1' }]), /refund_entries\.0\.quantity: must be a whole number/],
      [entries([{ entry_index: 0, quantity: -1, amount_usd: '1' }]), /refund_entries\.0\.quantity: must be ≥ 0/],
      [entries([{ entry_index: 0, quantity: 1, amount_usd: '1' }, { entry_index: 0, quantity: 1, amount_usd: '1' }]), /refund_entries\.1\.entry_index: entry 0 is named twice/],
      [entries([{ entry_index: 9, quantity: 1, amount_usd: '1' }]), /refund_entries\.0\.entry_index: the purchase has no entry 9/],
      [entries([{ entry_index: 1, quantity: 1, amount_usd: '1' }]), /refund_entries\.0\.entry_index: entry 1 is not a product grant/],
      [entries([{ entry_index: 0, quantity: 4, amount_usd: '1' }]), /refund_entries\.0\.quantity: 4 is more than the 3 bought/],
      [entries([{ entry_index: 0, quantity: 3, amount_usd: '37.51' }]), /37\.51 USD, more than the 37\.50 USD charged/],
      [entries([{ entry_index: 0, quantity: 1, amount_usd: '12.345' }]), /refund_entries\.0\.amount_usd: a USD amount/],
      [entries([{ entry_index: 0, quantity: 1, amount_usd: 12.5 }]), /refund_entries\.0\.amount_usd/],
      [entries([{ entry_index: 0, quantity: 1, amount_usd: '-1' }]), /refund_entries\.0\.amount_usd/],
      [{ type: 'gift', id: purchaseId, refund_entries: [] }, /type/],
    ];
    for (const [body, message] of cases) {
      const response = await refund(ctx, project, body as Record<string, unknown>);
      expect([response.status, response.body.code], JSON.stringify(body)).toEqual([400, 'SCHEMA_ERROR']);
      expect(String(response.body.error)).toMatch(message);
    }
    expect(await refundRows(ctx)).toBe(0);
    expect((await processorLedger(ctx, project)).refunds).toEqual([]);
    expect(await itemQuantity(ctx, project, { type: 'user', id: me.userId }, 'seats')).toBe(15);
  });

  it('404 for unknown or foreign purchases, 400 for an amount on a purchase not charged in USD and for test-mode purchases', async () => {
    await using ctx = await PipelineContext.open();
    const project = await ctx.createProject();
    const other = await ctx.createProject('other');
    await saveCatalogue(ctx, project);
    await saveCatalogue(ctx, other);
    const me = await signUp(ctx, project, 'n@example.com');
    const mine = await buy(ctx, project, { type: 'user', id: me.userId }, 'pro');
    const subscription = await buy(ctx, project, { type: 'user', id: me.userId }, 'monthly');
    const none = [{ entry_index: 0, quantity: 1, amount_usd: '0' }];
    for (const [type, id, code] of [
      ['one-time-purchase', '00000000-0000-4000-8000-000000000000', 'ONE_TIME_PURCHASE_NOT_FOUND'],
      ['one-time-purchase', 'not-a-uuid', 'ONE_TIME_PURCHASE_NOT_FOUND'],
      ['one-time-purchase', subscription.purchaseId, 'ONE_TIME_PURCHASE_NOT_FOUND'],
      ['subscription', mine.purchaseId, 'SUBSCRIPTION_INVOICE_NOT_FOUND'],
    ] as const) {
      const response = await refund(ctx, project, { type, id, refund_entries: none });
      expect([response.status, response.body.code], `${type} ${id}`).toEqual([404, code]);
    }
    const foreign = await refund(ctx, other, { type: 'one-time-purchase', id: mine.purchaseId, refund_entries: none });
    expect([foreign.status, foreign.body.code]).toEqual([404, 'ONE_TIME_PURCHASE_NOT_FOUND']);

    // A purchase charged in another currency (from an earlier processor setup): amounts refused, "0" allowed.
    await ctx.internal.query(`UPDATE "OneTimePurchase" SET currency = 'EUR' WHERE id = $1`, [mine.purchaseId]);
    const eur = await refund(ctx, project, { type: 'one-time-purchase', id: mine.purchaseId, refund_entries: [{ entry_index: 0, quantity: 1, amount_usd: '1' }] });
    expect([eur.status, eur.body.code]).toEqual([400, 'SCHEMA_ERROR']);
    expect(String(eur.body.error)).toContain('not charged in USD');

    const granted = await ctx.as(project, 'server', 'POST', `/api/v1/payments/products/user/${me.userId}`, { product_id: 'pro' });
    const testMode = await refund(ctx, project, { type: 'one-time-purchase', id: granted.body.purchase_id, refund_entries: none });
    expect([testMode.status, testMode.body.code]).toEqual([400, 'TEST_MODE_PURCHASE_NON_REFUNDABLE']);
    expect(await refundRows(ctx)).toBe(0);
  });
});

describe('refunds: effects', () => {
  it('a refunded one-time purchase stops granting its items, even for a zero-quantity refund; a second refund is refused', async () => {
    await using ctx = await PipelineContext.open();
    const project = await ctx.createProject();
    await saveCatalogue(ctx, project);
    const me = await signUp(ctx, project, 'e@example.com');
    const customer = { type: 'user', id: me.userId };
    const first = await buy(ctx, project, customer, 'pro', 2);
    const second = await buy(ctx, project, customer, 'pro', 1);
    expect(await itemQuantity(ctx, project, customer, 'seats')).toBe(15);

    const done = await refund(ctx, project, { type: 'one-time-purchase', id: first.purchaseId, refund_entries: [{ entry_index: 0, quantity: 0, amount_usd: '12.5' }] });
    expect(done.body).toMatchObject({ success: true });
    expect(await itemQuantity(ctx, project, customer, 'seats')).toBe(5);
    const again = await refund(ctx, project, { type: 'one-time-purchase', id: first.purchaseId, refund_entries: [{ entry_index: 0, quantity: 0, amount_usd: '0' }] });
    expect([again.status, again.body.code]).toEqual([400, 'ONE_TIME_PURCHASE_ALREADY_REFUNDED']);
    // Money is exact end to end: "12.5" reached the processor as 1250 cents.
    expect((await processorLedger(ctx, project)).refunds.map((entry) => entry.amount_usd)).toEqual(['12.50']);
    const stored = await ctx.internal.query('SELECT "amountCents" FROM "PurchaseRefund"');
    expect(stored.rows).toEqual([{ amountCents: '1250' }]);

    // A zero-amount refund asks the processor nothing, and still ends the grant.
    await refund(ctx, project, { type: 'one-time-purchase', id: second.purchaseId, refund_entries: [{ entry_index: 0, quantity: 0, amount_usd: '0' }] });
    expect(await itemQuantity(ctx, project, customer, 'seats')).toBe(0);
    expect((await processorLedger(ctx, project)).refunds).toHaveLength(1);

    const list = await ctx.as(project, 'admin', 'GET', '/api/v1/internal/payments/transactions');
    const items = list.body.items as { id: string; adjusted_by: unknown[]; entries: unknown[]; charged_amount: unknown }[];
    const firstView = items.find((item) => item.id === first.purchaseId)!;
    expect(firstView.charged_amount).toEqual({ USD: '25.00' });
    expect(firstView.adjusted_by).toEqual([{ transaction_id: done.body.refund_id, entry_index: 0, quantity: 0, amount_usd: '12.50' }]);
    expect(firstView.entries[0]).toEqual({ index: 0, type: 'product_grant', product_id: 'pro', quantity: 2, unit_price_usd: '12.50', amount_usd: '25.00' });
    const events = await ctx.internal.query<{ data: { amount_usd: string } }>(`SELECT data FROM "AnalyticsEvent" WHERE type = 'refund' ORDER BY "createdAt"`);
    expect(events.rows.map((row) => row.data.amount_usd).sort()).toEqual(['0.00', '12.50']);
  });

  it('a subscription loses the refunded units, and is cancelled at period end at zero', async () => {
    await using ctx = await PipelineContext.open();
    const project = await ctx.createProject();
    await saveCatalogue(ctx, project);
    const teamOwner = await signUp(ctx, project, 'owner@example.com');
    const team = String((await ctx.asUser(project, teamOwner.token, 'POST', '/api/v1/teams', { display_name: 'T' })).body.id);
    const customer = { type: 'team', id: team };
    const partly = await buy(ctx, project, customer, 'team-plan', 3);
    expect(await itemQuantity(ctx, project, customer, 'team-seats')).toBe(9);
    expect((await refund(ctx, project, { type: 'subscription', id: partly.purchaseId, refund_entries: [{ entry_index: 0, quantity: 2, amount_usd: '19.98' }] })).status).toBe(200);
    expect(await itemQuantity(ctx, project, customer, 'team-seats')).toBe(3);
    const row = await ctx.internal.query('SELECT quantity, "cancelAtPeriodEnd" FROM "Subscription" WHERE id = $1', [partly.purchaseId]);
    expect(row.rows[0]).toEqual({ quantity: 1, cancelAtPeriodEnd: false });
    const twice = await refund(ctx, project, { type: 'subscription', id: partly.purchaseId, refund_entries: [] });
    expect([twice.status, twice.body.code]).toEqual([400, 'SUBSCRIPTION_ALREADY_REFUNDED']);

    const whole = await buy(ctx, project, customer, 'team-plan', 1);
    await refund(ctx, project, { type: 'subscription', id: whole.purchaseId, refund_entries: [{ entry_index: 0, quantity: 1, amount_usd: '9.99' }] });
    const ended = await ctx.internal.query('SELECT quantity, "cancelAtPeriodEnd", status FROM "Subscription" WHERE id = $1', [whole.purchaseId]);
    expect(ended.rows[0]).toEqual({ quantity: 0, cancelAtPeriodEnd: true, status: 'active' });
    expect(await itemQuantity(ctx, project, customer, 'team-seats')).toBe(3);
    const products = await ctx.as(project, 'server', 'GET', `/api/v1/payments/products/team/${team}`);
    expect((products.body.items as { purchase_id: string; cancel_at_period_end: boolean }[]).find((item) => item.purchase_id === whole.purchaseId)?.cancel_at_period_end).toBe(true);
  });
});

describe('refunds happen once', () => {
  // Twenty admins clicking "refund" at once, on two API instances with pools (and processor clients)
  // of their own, as two processes would be: only the database can decide, and the processor is
  // asked once.
  it('twenty concurrent refunds of one purchase across two API instances: exactly one succeeds, one processor refund', async () => {
    await using ctx = await PipelineContext.open();
    const project = await ctx.createProject();
    await saveCatalogue(ctx, project);
    const { purchaseId } = await buy(ctx, project, { type: 'custom', id: 'org-1' }, 'org-pack');
    const body = { type: 'one-time-purchase', id: purchaseId, refund_entries: [{ entry_index: 0, quantity: 1, amount_usd: '100' }] };
    const secondPool = internalDatabasePool(ctx.config.DATABASE_URL);
    const secondDeps = createApiDependencies(ctx.config, secondPool);
    const secondApp = createApp(secondDeps);
    const viaSecond = async (): Promise<{ status: number; body: Record<string, unknown> }> => {
      const response = await secondApp.request('/api/v1/internal/payments/transactions/refund', {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-stack-project-id': project.id, 'x-stack-access-type': 'admin', 'x-stack-super-secret-admin-key': project.superSecretAdminKey },
        body: JSON.stringify(body),
      });
      return { status: response.status, body: (await response.json()) as Record<string, unknown> };
    };
    let responses;
    try {
      responses = await Promise.all(Array.from({ length: 20 }, (_, index) => (index % 2 === 0 ? refund(ctx, project, body) : viaSecond())));
    } finally {
      await secondDeps.paymentProcessor.close();
      await secondDeps.analytics.close();
      await secondPool.end();
    }
    const outcomes = responses.map((response) => `${response.status} ${String(response.body.code ?? 'success')}`);
    expect(outcomes.filter((outcome) => outcome === '200 success')).toHaveLength(1);
    expect(outcomes.filter((outcome) => outcome === '400 ONE_TIME_PURCHASE_ALREADY_REFUNDED')).toHaveLength(19);
    expect((await processorLedger(ctx, project)).refunds.map((entry) => entry.amount_usd)).toEqual(['100.00']);
    expect(await refundRows(ctx)).toBe(1);
  });

  it('a processor that refunds and then fails, then a retry: refunded once', async () => {
    await using ctx = await PipelineContext.open();
    const project = await ctx.createProject();
    await saveCatalogue(ctx, project);
    const customer = { type: 'custom', id: 'org-2' };
    const { purchaseId } = await buy(ctx, project, customer, 'org-pack');
    const body = { type: 'one-time-purchase', id: purchaseId, refund_entries: [{ entry_index: 0, quantity: 1, amount_usd: '40' }] };
    await setFault(ctx, project, 'lost_response', 1);
    const lost = await refund(ctx, project, body);
    expect([lost.status, lost.body.code]).toEqual([503, 'PAYMENT_PROCESSOR_UNAVAILABLE']);
    // The processor did refund; we recorded nothing, and the purchase still grants.
    expect((await processorLedger(ctx, project)).refunds).toHaveLength(1);
    expect(await refundRows(ctx)).toBe(0);
    expect(await itemQuantity(ctx, project, customer, 'org-credits')).toBe(1000);

    const retried = await refund(ctx, project, body);
    expect(retried.body).toMatchObject({ success: true });
    expect((await processorLedger(ctx, project)).refunds.map((entry) => entry.amount_usd)).toEqual(['40.00']);
    expect(await refundRows(ctx)).toBe(1);
    expect(await itemQuantity(ctx, project, customer, 'org-credits')).toBe(0);
  });

  it('a processor that is down leaves no half-refunded purchase; a later retry succeeds', async () => {
    await using ctx = await PipelineContext.open();
    const project = await ctx.createProject();
    await saveCatalogue(ctx, project);
    const customer = { type: 'custom', id: 'org-3' };
    const { purchaseId } = await buy(ctx, project, customer, 'org-pack');
    const body = { type: 'one-time-purchase', id: purchaseId, refund_entries: [{ entry_index: 0, quantity: 1, amount_usd: '100' }] };
    await setFault(ctx, project, 'unavailable', 2);
    for (let attempt = 0; attempt < 2; attempt++) {
      const down = await refund(ctx, project, body);
      expect([down.status, down.body.code]).toEqual([503, 'PAYMENT_PROCESSOR_UNAVAILABLE']);
    }
    expect(await refundRows(ctx)).toBe(0);
    expect((await processorLedger(ctx, project)).refunds).toEqual([]);
    expect((await ctx.internal.query('SELECT "refundedAt" FROM "OneTimePurchase" WHERE id = $1', [purchaseId])).rows[0]).toEqual({ refundedAt: null });
    expect(await itemQuantity(ctx, project, customer, 'org-credits')).toBe(1000);
    expect((await ctx.internal.query(`SELECT 1 FROM "AnalyticsEvent" WHERE type = 'refund'`)).rowCount).toBe(0);

    expect((await refund(ctx, project, body)).status).toBe(200);
    expect((await processorLedger(ctx, project)).refunds).toHaveLength(1);
  });
});

describe('transactions list', () => {
  it('pages newest first with a cursor, and only the project’s own', async () => {
    await using ctx = await PipelineContext.open();
    const project = await ctx.createProject();
    const other = await ctx.createProject('other');
    await saveCatalogue(ctx, project);
    await saveCatalogue(ctx, other);
    const bought: string[] = [];
    for (let index = 0; index < 5; index++) bought.push((await buy(ctx, project, { type: 'custom', id: `org-${index}` }, 'org-pack')).purchaseId);
    await buy(ctx, other, { type: 'custom', id: 'elsewhere' }, 'org-pack');
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const page: { body: Record<string, unknown> } = await ctx.as(project, 'admin', 'GET', `/api/v1/internal/payments/transactions?limit=2${cursor ? `&cursor=${cursor}` : ''}`);
      seen.push(...(page.body.items as { id: string }[]).map((item) => item.id));
      cursor = page.body.next_cursor as string | null;
    } while (cursor);
    // Newest first; purchases of the same millisecond come in id order, so compare as sets plus order of time.
    expect(seen).toHaveLength(5);
    expect([...seen].sort()).toEqual([...bought].sort());
    for (const query of ['limit=0', 'limit=abc', 'cursor=nope', 'other=1']) {
      const response = await ctx.as(project, 'admin', 'GET', `/api/v1/internal/payments/transactions?${query}`);
      expect([response.status, response.body.code], query).toEqual([400, 'SCHEMA_ERROR']);
    }
    expect((await ctx.as(project, 'server', 'GET', '/api/v1/internal/payments/transactions')).body.code).toBe('INSUFFICIENT_ACCESS_TYPE');
  });
});
