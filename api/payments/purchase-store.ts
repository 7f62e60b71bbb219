import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { and, eq, inArray, isNull } from 'drizzle-orm';
import { storedProductSchema, type StoredProduct } from '../../schema/payment-config';
import { tenancy } from '../../schema/tables';
import { oneTimePurchase, purchaseEntry, purchaseSession, subscription, subscriptionInvoice } from '../../schema/payment-tables';
import { recordAnalyticsEvent } from '../analytics/events';
import { knownErrors } from '../api-error';
import type { Database } from '../api-env';
import { loadProjectConfig } from '../project-config-store';
import type { Customer } from './customers';
import { formatUsd } from './money';
import { PaymentProcessorRefusedError, PaymentProcessorUnavailableError, type PaymentProcessor, type ProcessorCharge } from './payment-processor';
import { purchaseEntries, type ItemGrant } from './purchase-entries';
import { periodEnd } from './subscription-period';

type Transaction = Parameters<Parameters<Database['transaction']>[0]>[0];

/** How long a purchase URL can be completed, in ms. */
const sessionLifetimeMs = 24 * 3_600_000;

export type PurchaseType = 'one-time-purchase' | 'subscription';

export interface RecordedPurchase {
  purchaseType: PurchaseType;
  purchaseId: string;
}

function hashCode(code: string): string {
  return createHash('sha256').update(code).digest('hex');
}

export async function createPurchaseSession(
  db: Database,
  tenancyId: string,
  customer: Customer,
  productId: string,
  product: StoredProduct,
  quantity: number,
): Promise<{ code: string; sessionId: string }> {
  const code = randomBytes(32).toString('base64url');
  const sessionId = randomUUID();
  await db.insert(purchaseSession).values({
    id: sessionId,
    tenancyId,
    codeHash: hashCode(code),
    customerType: customer.customerType,
    customerId: customer.customerId,
    productId,
    product,
    quantity,
    expiresAt: new Date(Date.now() + sessionLifetimeMs),
  });
  return { code, sessionId };
}

interface PurchaseToRecord {
  projectId: string;
  tenancyId: string;
  customer: Customer;
  productId: string;
  product: StoredProduct;
  quantity: number;
  /** Undefined when nothing was charged: the purchase is then test_mode. */
  charge: ProcessorCharge | undefined;
}

/** Writes the purchase (or subscription and its first invoice) with its entries, and its analytics event. */
export async function recordPurchase(tx: Transaction, purchase: PurchaseToRecord): Promise<RecordedPurchase> {
  const { tenancyId, customer, productId, product, quantity, charge } = purchase;
  const id = randomUUID();
  const entries = purchaseEntries(productId, product, quantity);
  const testMode = charge === undefined;
  const money = { currency: testMode ? null : 'USD', chargedCents: charge?.amountCents ?? 0, processorChargeId: charge?.chargeId ?? null };
  const common = { id, tenancyId, customerType: customer.customerType, customerId: customer.customerId, productId, productDisplayName: product.displayName, quantity, testMode };
  let purchaseType: PurchaseType;
  if (product.interval === 'one-time') {
    purchaseType = 'one-time-purchase';
    await tx.insert(oneTimePurchase).values({ ...common, ...money });
  } else {
    purchaseType = 'subscription';
    const start = new Date();
    const end = periodEnd(start, product.interval);
    await tx.insert(subscription).values({ ...common, interval: product.interval, status: 'active', currentPeriodStart: start, currentPeriodEnd: end });
    await tx.insert(subscriptionInvoice).values({ id: randomUUID(), tenancyId, subscriptionId: id, ...money, periodStart: start, periodEnd: end });
  }
  await tx.insert(purchaseEntry).values(entries.map((entry) => ({ ...entry, tenancyId, purchaseId: id })));
  await recordAnalyticsEvent(
    tx,
    { projectId: purchase.projectId, tenancyId, userId: customer.customerType === 'user' ? customer.customerId : null },
    {
      type: 'purchase',
      data: {
        purchase_id: id,
        customer_type: customer.customerType,
        customer_id: customer.customerId,
        product_id: productId,
        amount_usd: formatUsd(money.chargedCents),
        test_mode: testMode,
      },
    },
  );
  return { purchaseType, purchaseId: id };
}

/**
 * Completes a purchase URL through the processor. The charge's idempotency key is the session: a
 * completion retried after a lost answer (or raced by a second click) charges once, and the
 * session's row lock makes it record one purchase. A processor that fails leaves nothing recorded.
 */
export async function completePurchaseSession(db: Database, processor: PaymentProcessor, code: string): Promise<RecordedPurchase> {
  return db.transaction(async (tx) => {
    const [session] = await tx.select().from(purchaseSession).where(eq(purchaseSession.codeHash, hashCode(code))).for('update');
    if (!session) throw knownErrors.purchaseSessionNotFound();
    if (session.completedAt && session.purchaseId) {
      const isOneTime = (await tx.select({ id: oneTimePurchase.id }).from(oneTimePurchase).where(eq(oneTimePurchase.id, session.purchaseId))).length > 0;
      return { purchaseType: isOneTime ? 'one-time-purchase' : 'subscription', purchaseId: session.purchaseId };
    }
    if (session.expiresAt.getTime() < Date.now()) throw knownErrors.purchaseSessionNotFound();
    const product = storedProductSchema.parse(session.product);
    const [owner] = await tx.select({ projectId: tenancy.projectId }).from(tenancy).where(eq(tenancy.id, session.tenancyId));
    if (!owner) throw knownErrors.purchaseSessionNotFound();
    const { projectId } = owner;
    const { payments } = await loadProjectConfig(tx, projectId);
    let charge: ProcessorCharge | undefined;
    if (!payments.testMode) {
      try {
        charge = await processor.charge({
          tenancyId: session.tenancyId,
          idempotencyKey: `purchase-session:${session.id}`,
          currency: 'USD',
          amountCents: purchaseEntries(session.productId, product, session.quantity)[0]!.amountCents ?? 0,
          description: `${session.quantity} × ${session.productId}`,
        });
      } catch (error: unknown) {
        if (error instanceof PaymentProcessorUnavailableError) throw knownErrors.paymentProcessorUnavailable();
        if (error instanceof PaymentProcessorRefusedError) throw knownErrors.paymentProcessorRefused(error.message);
        throw error;
      }
    }
    const recorded = await recordPurchase(tx, {
      projectId,
      tenancyId: session.tenancyId,
      customer: { customerType: session.customerType as Customer['customerType'], customerId: session.customerId },
      productId: session.productId,
      product,
      quantity: session.quantity,
      charge,
    });
    await tx.update(purchaseSession).set({ completedAt: new Date(), purchaseId: recorded.purchaseId }).where(eq(purchaseSession.id, session.id));
    return recorded;
  });
}

export interface OwnedProduct {
  purchaseType: PurchaseType;
  purchaseId: string;
  productId: string;
  displayName: string;
  quantity: number;
  testMode: boolean;
  /** Subscriptions only. */
  currentPeriodEnd?: Date;
  cancelAtPeriodEnd?: boolean;
}

/**
 * What a customer owns now: one-time purchases not refunded, and subscriptions that still grant
 * (active, and not past the end of a period they were cancelled at).
 */
export async function loadOwnedProducts(db: Pick<Database, 'select'>, tenancyId: string, customer: Customer, now = new Date()): Promise<{ products: OwnedProduct[]; grants: ItemGrant[] }> {
  const oneTime = await db
    .select()
    .from(oneTimePurchase)
    .where(and(eq(oneTimePurchase.tenancyId, tenancyId), eq(oneTimePurchase.customerType, customer.customerType), eq(oneTimePurchase.customerId, customer.customerId), isNull(oneTimePurchase.refundedAt)));
  const subscriptions = (
    await db
      .select()
      .from(subscription)
      .where(and(eq(subscription.tenancyId, tenancyId), eq(subscription.customerType, customer.customerType), eq(subscription.customerId, customer.customerId), eq(subscription.status, 'active')))
  ).filter((row) => !(row.cancelAtPeriodEnd && row.currentPeriodEnd <= now));
  const ids = [...oneTime.map((row) => row.id), ...subscriptions.map((row) => row.id)];
  const entries = ids.length === 0 ? [] : await db.select().from(purchaseEntry).where(and(eq(purchaseEntry.tenancyId, tenancyId), inArray(purchaseEntry.purchaseId, ids)));
  const entriesOf = (id: string) => entries.filter((entry) => entry.purchaseId === id);
  const grantOf = (id: string, unitsGranting: number): ItemGrant => ({
    unitsBought: entriesOf(id).find((entry) => entry.type === 'product_grant')?.quantity ?? 0,
    unitsGranting,
    items: entriesOf(id).flatMap((entry) => (entry.type === 'item_quantity_change' && entry.itemId ? [{ itemId: entry.itemId, quantity: entry.quantity }] : [])),
  });
  const products: OwnedProduct[] = [
    ...oneTime.map((row) => ({ purchaseType: 'one-time-purchase' as const, purchaseId: row.id, productId: row.productId, displayName: row.productDisplayName, quantity: row.quantity, testMode: row.testMode })),
    ...subscriptions.map((row) => ({
      purchaseType: 'subscription' as const,
      purchaseId: row.id,
      productId: row.productId,
      displayName: row.productDisplayName,
      quantity: row.quantity,
      testMode: row.testMode,
      currentPeriodEnd: row.currentPeriodEnd,
      cancelAtPeriodEnd: row.cancelAtPeriodEnd,
    })),
  ];
  const grants = [...oneTime.map((row) => grantOf(row.id, row.quantity)), ...subscriptions.map((row) => grantOf(row.id, row.quantity))];
  return { products, grants };
}
