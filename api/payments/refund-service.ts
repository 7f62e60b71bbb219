import { randomUUID } from 'node:crypto';
import { and, desc, eq } from 'drizzle-orm';
import { z } from 'zod';
import { oneTimePurchase, purchaseEntry, purchaseRefund, purchaseRefundEntry, subscription, subscriptionInvoice } from '../../schema/payment-tables';
import { recordAnalyticsEvent } from '../analytics/events';
import { knownErrors } from '../api-error';
import type { Database, RequestProject } from '../api-env';
import { formatUsd, parseUsd } from './money';
import { PaymentProcessorRefusedError, PaymentProcessorUnavailableError, type PaymentProcessor } from './payment-processor';
import { decideRefund } from './refund-decision';

/** A USD decimal string in, integer cents out: the body never carries a float past this line. */
const usdAmountInCents = z.string().transform((text, context) => {
  const parsed = parseUsd(text);
  if (parsed.ok) return parsed.cents;
  context.addIssue({ code: 'custom', message: parsed.problem });
  return z.NEVER;
});

export const refundBody = z.strictObject({
  type: z.enum(['subscription', 'one-time-purchase']),
  /** The one-time purchase's or the subscription's id. */
  id: z.string().max(100),
  refund_entries: z
    .array(
      z.strictObject({
        entry_index: z.number().int('must be a whole number').min(0, 'must be ≥ 0'),
        /** Units taken back; 0 refunds money only. */
        quantity: z.number().int('must be a whole number').min(0, 'must be ≥ 0'),
        /** USD as a decimal string; "0" refunds units only. */
        amount_usd: usdAmountInCents,
      }),
    )
    .max(100),
});

export type RefundBody = z.infer<typeof refundBody>;

interface LockedPurchase {
  purchaseId: string;
  invoiceId: string | null;
  testMode: boolean;
  currency: string | null;
  chargedCents: number;
  processorChargeId: string | null;
  customerType: string;
  customerId: string;
}

type Transaction = Parameters<Parameters<Database['transaction']>[0]>[0];

const uuid = z.uuid();

/** Locks the purchase row: concurrent refunds of one purchase queue here, across processes. */
async function lockPurchase(tx: Transaction, tenancyId: string, body: RefundBody): Promise<LockedPurchase> {
  const notFound = body.type === 'one-time-purchase' ? knownErrors.oneTimePurchaseNotFound() : knownErrors.subscriptionInvoiceNotFound();
  if (!uuid.safeParse(body.id).success) throw notFound;
  if (body.type === 'one-time-purchase') {
    const [row] = await tx.select().from(oneTimePurchase).where(and(eq(oneTimePurchase.id, body.id), eq(oneTimePurchase.tenancyId, tenancyId))).for('update');
    if (!row) throw notFound;
    return { purchaseId: row.id, invoiceId: null, ...row };
  }
  const [row] = await tx.select().from(subscription).where(and(eq(subscription.id, body.id), eq(subscription.tenancyId, tenancyId))).for('update');
  if (!row) throw notFound;
  // The invoice refunded is the subscription's latest: what the customer paid for the current period.
  const [invoice] = await tx.select().from(subscriptionInvoice).where(eq(subscriptionInvoice.subscriptionId, row.id)).orderBy(desc(subscriptionInvoice.createdAt)).limit(1);
  if (!invoice) throw notFound;
  return {
    purchaseId: row.id,
    invoiceId: invoice.id,
    testMode: row.testMode,
    currency: invoice.currency,
    chargedCents: invoice.chargedCents,
    processorChargeId: invoice.processorChargeId,
    customerType: row.customerType,
    customerId: row.customerId,
  };
}

/**
 * Refunds a purchase at most once (DESIGN.md "Teams, payments and refunds").
 *
 * The decision and the processor call happen in one transaction that holds the purchase's row
 * lock: concurrent requests for one purchase wait on it and then find the refund recorded (one
 * succeeds, the processor is asked once). The processor's idempotency key is derived from the
 * purchase (there is only ever one refund of it): when the processor refunds and then fails (a lost
 * answer), the transaction rolls back, nothing is recorded, and a retry asks again with the same
 * key, so the processor answers with the refund it already made instead of refunding twice. When
 * it is down, the rollback leaves the purchase exactly as it was: never half refunded.
 */
export async function refundPurchase(db: Database, processor: PaymentProcessor, project: RequestProject, body: RefundBody): Promise<{ refundId: string }> {
  return db.transaction(async (tx) => {
    const purchase = await lockPurchase(tx, project.tenancyId, body);
    const [existing] = await tx.select({ id: purchaseRefund.id }).from(purchaseRefund).where(eq(purchaseRefund.purchaseId, purchase.purchaseId));
    if (existing) throw body.type === 'one-time-purchase' ? knownErrors.oneTimePurchaseAlreadyRefunded() : knownErrors.subscriptionAlreadyRefunded();
    const entries = await tx.select().from(purchaseEntry).where(eq(purchaseEntry.purchaseId, purchase.purchaseId));
    const requested = body.refund_entries.map((entry) => ({ entryIndex: entry.entry_index, quantity: entry.quantity, amountCents: entry.amount_usd }));
    const decision = decideRefund(
      {
        testMode: purchase.testMode,
        currency: purchase.currency,
        chargedCents: purchase.chargedCents,
        entries: entries.map((entry) => ({ entryIndex: entry.entryIndex, type: entry.type as 'product_grant' | 'item_quantity_change', quantity: entry.quantity })),
      },
      requested,
    );
    if (!decision.ok) {
      if (decision.code === 'TEST_MODE_PURCHASE_NON_REFUNDABLE') throw knownErrors.testModePurchaseNonRefundable();
      throw knownErrors.schema(`Request validation failed on body — ${decision.message}`, { issues: [{ path: decision.path ?? 'refund_entries', message: decision.message }] });
    }

    const refundId = randomUUID();
    const idempotencyKey = `refund:${body.type}:${purchase.purchaseId}`;
    let processorRefundId: string | null = null;
    if (decision.amountCents > 0) {
      if (!purchase.processorChargeId) throw knownErrors.testModePurchaseNonRefundable();
      try {
        const refunded = await processor.refund({ tenancyId: project.tenancyId, idempotencyKey, chargeId: purchase.processorChargeId, amountCents: decision.amountCents });
        processorRefundId = refunded.refundId;
      } catch (error: unknown) {
        if (error instanceof PaymentProcessorUnavailableError) throw knownErrors.paymentProcessorUnavailable();
        if (error instanceof PaymentProcessorRefusedError) throw knownErrors.paymentProcessorRefused(error.message);
        throw error;
      }
    }
    await tx.insert(purchaseRefund).values({
      id: refundId,
      tenancyId: project.tenancyId,
      purchaseType: body.type,
      purchaseId: purchase.purchaseId,
      invoiceId: purchase.invoiceId,
      amountCents: decision.amountCents,
      idempotencyKey,
      processorRefundId,
    });
    if (requested.length > 0) {
      await tx.insert(purchaseRefundEntry).values(requested.map((entry) => ({ refundId, entryIndex: entry.entryIndex, quantity: entry.quantity, amountCents: entry.amountCents })));
    }
    if (body.type === 'one-time-purchase') {
      // Any refund, even of zero units, ends what the purchase grants.
      await tx.update(oneTimePurchase).set({ refundedAt: new Date() }).where(eq(oneTimePurchase.id, purchase.purchaseId));
    } else {
      const [row] = await tx.select({ quantity: subscription.quantity }).from(subscription).where(eq(subscription.id, purchase.purchaseId));
      const remaining = Math.max(0, (row?.quantity ?? 0) - decision.refundedQuantity);
      await tx
        .update(subscription)
        .set({ quantity: remaining, ...(remaining === 0 ? { cancelAtPeriodEnd: true } : {}) })
        .where(eq(subscription.id, purchase.purchaseId));
    }
    await recordAnalyticsEvent(
      tx,
      { projectId: project.id, tenancyId: project.tenancyId, userId: purchase.customerType === 'user' ? purchase.customerId : null },
      { type: 'refund', data: { purchase_id: purchase.purchaseId, refund_id: refundId, amount_usd: formatUsd(decision.amountCents) } },
    );
    return { refundId };
  });
}

