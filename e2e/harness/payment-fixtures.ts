import type { ApiResponse, PipelineContext, TestProject } from './pipeline-context';

/**
 * A catalogue most payment tests share: `pro` ($12.50 one-time, 5 seats and 100 credits a unit),
 * `team-plan` ($9.99 a month for teams, 3 team seats a unit) and `org-pack` for custom customers.
 */
export const sampleCatalogue = {
  items: {
    seats: { display_name: 'Seats', customer_type: 'user' },
    credits: { display_name: 'Credits', customer_type: 'user' },
    'team-seats': { display_name: 'Team seats', customer_type: 'team' },
    'org-credits': { display_name: 'Organisation credits', customer_type: 'custom' },
  },
  products: {
    pro: { display_name: 'Pro', customer_type: 'user', price_usd: '12.5', included_items: { seats: { quantity: 5 }, credits: { quantity: 100 } } },
    monthly: { display_name: 'Monthly', customer_type: 'user', price_usd: '4.99', interval: 'month', included_items: { seats: { quantity: 2 } } },
    'team-plan': { display_name: 'Team plan', customer_type: 'team', price_usd: '9.99', interval: 'month', included_items: { 'team-seats': { quantity: 3 } } },
    'org-pack': { display_name: 'Org pack', customer_type: 'custom', price_usd: '100', included_items: { 'org-credits': { quantity: 1000 } } },
  },
};

export async function saveCatalogue(ctx: PipelineContext, project: TestProject, payments: Record<string, unknown> = sampleCatalogue): Promise<void> {
  const response = await ctx.as(project, 'admin', 'PATCH', '/api/v1/internal/config', { payments });
  if (response.status !== 200) throw new Error(`catalogue update failed: ${response.status} ${JSON.stringify(response.body)}`);
}

/** A signed-up user of the project, with its access token. */
export async function signUp(ctx: PipelineContext, project: TestProject, email: string): Promise<{ userId: string; token: string }> {
  const response = await ctx.as(project, 'client', 'POST', '/api/v1/auth/password/sign-up', { email, password: 'a good password' });
  if (response.status !== 201) throw new Error(`sign-up failed: ${response.status} ${JSON.stringify(response.body)}`);
  return { userId: String(response.body.user_id), token: String(response.body.access_token) };
}

/** Creates a purchase URL with the server key and pays it through the test processor. */
export async function buy(
  ctx: PipelineContext,
  project: TestProject,
  customer: { type: string; id: string },
  productId: string,
  quantity = 1,
): Promise<{ purchaseType: string; purchaseId: string }> {
  const url = await ctx.as(project, 'server', 'POST', '/api/v1/payments/purchases/create-purchase-url', { customer_type: customer.type, customer_id: customer.id, product_id: productId, quantity });
  if (url.status !== 201) throw new Error(`purchase URL failed: ${url.status} ${JSON.stringify(url.body)}`);
  const completed = await completePurchase(ctx, String(url.body.code));
  if (completed.status !== 200) throw new Error(`purchase failed: ${completed.status} ${JSON.stringify(completed.body)}`);
  return { purchaseType: String(completed.body.purchase_type), purchaseId: String(completed.body.purchase_id) };
}

export function completePurchase(ctx: PipelineContext, code: string): Promise<ApiResponse> {
  return ctx.request('POST', '/api/v1/payments/purchases/complete-test-purchase', { body: { code } });
}

export function refund(ctx: PipelineContext, project: TestProject, body: Record<string, unknown>): Promise<ApiResponse> {
  return ctx.as(project, 'admin', 'POST', '/api/v1/internal/payments/transactions/refund', body);
}

export async function itemQuantity(ctx: PipelineContext, project: TestProject, customer: { type: string; id: string }, itemId: string): Promise<number> {
  const response = await ctx.as(project, 'server', 'GET', `/api/v1/payments/items/${customer.type}/${customer.id}/${itemId}`);
  if (response.status !== 200) throw new Error(`item read failed: ${response.status} ${JSON.stringify(response.body)}`);
  return Number(response.body.quantity);
}

export async function processorLedger(ctx: PipelineContext, project: TestProject): Promise<{ charges: { amount_usd: string; id: string }[]; refunds: { amount_usd: string; charge_id: string }[] }> {
  const response = await ctx.as(project, 'admin', 'GET', '/api/v1/internal/payments/test-processor');
  return response.body as { charges: { amount_usd: string; id: string }[]; refunds: { amount_usd: string; charge_id: string }[] };
}
