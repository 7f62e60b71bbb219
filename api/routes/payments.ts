import { Hono } from 'hono';
import { z } from 'zod';
import { catalogueIdSchema, type StoredProduct } from '../../schema/payment-config';
import { knownErrors } from '../api-error';
import type { ApiEnv, Database } from '../api-env';
import { parseBody } from '../parse-body';
import { loadProjectConfig } from '../project-config-store';
import { requireAccess } from '../project-auth';
import { authorizeCustomer, customerTypeSchema, type Customer } from '../payments/customers';
import { formatUsd, multiplyCents } from '../payments/money';
import { itemQuantities, purchaseSizeProblem } from '../payments/purchase-entries';
import { completePurchaseSession, createPurchaseSession, loadOwnedProducts, recordPurchase } from '../payments/purchase-store';

export const createPurchaseUrlBody = z.strictObject({
  customer_type: customerTypeSchema,
  customer_id: z.string().max(128),
  product_id: catalogueIdSchema,
  /** Units of the product. */
  quantity: z.int().min(1).max(10_000).default(1),
});

export const completeTestPurchaseBody = z.strictObject({
  /** The code of the purchase URL. */
  code: z.string().regex(/^[A-Za-z0-9_-]{43}$/, 'the code of a purchase URL'),
});

export const grantProductBody = z.strictObject({
  product_id: catalogueIdSchema,
  quantity: z.int().min(1).max(10_000).default(1),
});

async function productFor(db: Database, projectId: string, productId: string, customer: Customer, quantity: number): Promise<StoredProduct> {
  const { payments } = await loadProjectConfig(db, projectId);
  const product = payments.products[productId];
  if (!product) throw knownErrors.productNotFound();
  if (product.customerType !== customer.customerType) throw knownErrors.productCustomerTypeMismatch(product.customerType, customer.customerType);
  const tooLarge = purchaseSizeProblem(product, quantity);
  if (tooLarge) throw knownErrors.schema(tooLarge, { issues: [{ path: 'quantity', message: tooLarge }] });
  return product;
}

export const paymentRoutes = new Hono<ApiEnv>()
  /** A URL where the customer pays for a product (the built-in test processor: see complete-test-purchase). */
  .post('/payments/purchases/create-purchase-url', requireAccess('client', 'server'), async (c) => {
    const { db, auth } = c.get('deps');
    const body = await parseBody(c, createPurchaseUrlBody);
    const customer = await authorizeCustomer(c, body.customer_type, body.customer_id);
    const product = await productFor(db, c.get('project').id, body.product_id, customer, body.quantity);
    const { code, sessionId } = await createPurchaseSession(db, c.get('project').tenancyId, customer, body.product_id, product, body.quantity);
    return c.json({ url: `${auth.apiUrl.replace(/\/$/, '')}/purchase/${code}`, code, session_id: sessionId, amount_usd: formatUsd(multiplyCents(product.priceCents, body.quantity)) }, 201);
  })
  /**
   * Pays a purchase URL with the built-in test processor (what the checkout page does): the code
   * is the credential. Completing twice records one purchase and charges once.
   */
  .post('/payments/purchases/complete-test-purchase', async (c) => {
    const { db, paymentProcessor } = c.get('deps');
    const body = await parseBody(c, completeTestPurchaseBody);
    const recorded = await completePurchaseSession(db, paymentProcessor, body.code);
    return c.json({ purchase_type: recorded.purchaseType, purchase_id: recorded.purchaseId });
  })
  /** Grants a product without any charge: recorded as test_mode, never refundable. */
  .post('/payments/products/:customerType/:customerId', requireAccess('server'), async (c) => {
    const { db } = c.get('deps');
    const project = c.get('project');
    // The customer (a path resource) before the body: another project's customer is 404 whatever the body.
    const customer = await authorizeCustomer(c, c.req.param('customerType'), c.req.param('customerId'));
    const body = await parseBody(c, grantProductBody);
    const product = await productFor(db, project.id, body.product_id, customer, body.quantity);
    const recorded = await db.transaction((tx) =>
      recordPurchase(tx, { projectId: project.id, tenancyId: project.tenancyId, customer, productId: body.product_id, product, quantity: body.quantity, charge: undefined }),
    );
    return c.json({ purchase_type: recorded.purchaseType, purchase_id: recorded.purchaseId }, 201);
  })
  .get('/payments/products/:customerType/:customerId', requireAccess('client', 'server'), async (c) => {
    const { db } = c.get('deps');
    const customer = await authorizeCustomer(c, c.req.param('customerType'), c.req.param('customerId'));
    const { products } = await loadOwnedProducts(db, c.get('project').tenancyId, customer);
    return c.json({
      items: products.map((product) => ({
        id: product.productId,
        display_name: product.displayName,
        quantity: product.quantity,
        type: product.purchaseType,
        purchase_id: product.purchaseId,
        test_mode: product.testMode,
        ...(product.currentPeriodEnd ? { current_period_end_millis: product.currentPeriodEnd.getTime(), cancel_at_period_end: product.cancelAtPeriodEnd } : {}),
      })),
    });
  })
  .get('/payments/items/:customerType/:customerId', requireAccess('client', 'server'), async (c) => {
    const { db } = c.get('deps');
    const customer = await authorizeCustomer(c, c.req.param('customerType'), c.req.param('customerId'));
    const { payments } = await loadProjectConfig(db, c.get('project').id);
    const quantities = itemQuantities((await loadOwnedProducts(db, c.get('project').tenancyId, customer)).grants);
    const ids = new Set([...Object.entries(payments.items).filter(([, item]) => item.customerType === customer.customerType).map(([id]) => id), ...quantities.keys()]);
    return c.json({
      items: [...ids].sort().map((id) => ({ id, display_name: payments.items[id]?.displayName ?? id, quantity: quantities.get(id) ?? 0 })),
    });
  })
  .get('/payments/items/:customerType/:customerId/:itemId', requireAccess('client', 'server'), async (c) => {
    const { db } = c.get('deps');
    const customer = await authorizeCustomer(c, c.req.param('customerType'), c.req.param('customerId'));
    const { payments } = await loadProjectConfig(db, c.get('project').id);
    const itemId = c.req.param('itemId');
    const item = payments.items[itemId];
    if (!item || item.customerType !== customer.customerType) throw knownErrors.itemNotFound();
    const quantities = itemQuantities((await loadOwnedProducts(db, c.get('project').tenancyId, customer)).grants);
    return c.json({ id: itemId, display_name: item.displayName, quantity: quantities.get(itemId) ?? 0 });
  });

