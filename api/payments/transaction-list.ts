import { and, asc, desc, eq, inArray, sql } from 'drizzle-orm';
import { z } from 'zod';
import { purchaseEntry, purchaseRefund, purchaseRefundEntry, testProcessorCharge, testProcessorRefund } from '../../schema/payment-tables';
import type { Database } from '../api-env';
import { formatUsd } from './money';

export const listTransactionsQuery = z.strictObject({
  /** Opaque: the `next_cursor` of the previous page. */
  cursor: z.string().regex(/^[0-9]{1,15}_[0-9a-f-]{36}$/, 'a next_cursor from an earlier page').optional(),
  limit: z.coerce.number().int().min(1).max(100).default(20),
});

interface TransactionRow extends Record<string, unknown> {
  type: 'one-time-purchase' | 'subscription';
  id: string;
  createdAt: Date;
  createdAtMillis: string;
  customerType: string;
  customerId: string;
  productId: string;
  testMode: boolean;
  currency: string | null;
  chargedCents: string;
}

/**
 * The project's purchases, newest first: one-time purchases and subscriptions (with what their
 * first invoice charged), each with its entries and, once refunded, `adjusted_by` naming the refund.
 * Keyset pagination on (created at, id), so pages stay stable while purchases are made.
 */
export async function listTransactions(db: Database, tenancyId: string, query: z.infer<typeof listTransactionsQuery>): Promise<Record<string, unknown>> {
  const [cursorMillis, cursorId] = query.cursor ? query.cursor.split('_') : [undefined, undefined];
  const after = cursorMillis !== undefined ? sql`AND ("createdAtMillis", id) < (${Number(cursorMillis)}::bigint, ${cursorId}::uuid)` : sql``;
  const result = await db.execute<TransactionRow>(sql`
    SELECT * FROM (
      SELECT 'one-time-purchase' AS type, id, "createdAt", floor(extract(epoch FROM "createdAt") * 1000)::bigint AS "createdAtMillis",
             "customerType", "customerId", "productId", "testMode", currency, "chargedCents"
        FROM "OneTimePurchase" WHERE "tenancyId" = ${tenancyId}
      UNION ALL
      SELECT 'subscription', s.id, s."createdAt", floor(extract(epoch FROM s."createdAt") * 1000)::bigint,
             s."customerType", s."customerId", s."productId", s."testMode", i.currency, i."chargedCents"
        FROM "Subscription" s
        JOIN LATERAL (SELECT currency, "chargedCents" FROM "SubscriptionInvoice" WHERE "subscriptionId" = s.id ORDER BY "createdAt" LIMIT 1) i ON true
       WHERE s."tenancyId" = ${tenancyId}
    ) t
    WHERE true ${after}
    ORDER BY "createdAtMillis" DESC, id DESC
    LIMIT ${query.limit + 1}`);
  const rows = result.rows.slice(0, query.limit);
  const ids = rows.map((row) => row.id);
  const entries = ids.length === 0 ? [] : await db.select().from(purchaseEntry).where(inArray(purchaseEntry.purchaseId, ids)).orderBy(asc(purchaseEntry.entryIndex));
  const refunds = ids.length === 0 ? [] : await db.select().from(purchaseRefund).where(inArray(purchaseRefund.purchaseId, ids));
  const refundEntries = refunds.length === 0 ? [] : await db.select().from(purchaseRefundEntry).where(inArray(purchaseRefundEntry.refundId, refunds.map((refund) => refund.id)));
  const last = rows.at(-1);
  return {
    items: rows.map((row) => {
      const refund = refunds.find((candidate) => candidate.purchaseId === row.id);
      return {
        id: row.id,
        type: row.type,
        created_at_millis: Number(row.createdAtMillis),
        customer_type: row.customerType,
        customer_id: row.customerId,
        product_id: row.productId,
        test_mode: row.testMode,
        charged_amount: row.currency === 'USD' ? { USD: formatUsd(Number(row.chargedCents)) } : {},
        entries: entries
          .filter((entry) => entry.purchaseId === row.id)
          .map((entry) => ({
            index: entry.entryIndex,
            type: entry.type,
            ...(entry.productId !== null ? { product_id: entry.productId } : {}),
            ...(entry.itemId !== null ? { item_id: entry.itemId } : {}),
            quantity: entry.quantity,
            ...(entry.unitPriceCents !== null ? { unit_price_usd: formatUsd(entry.unitPriceCents) } : {}),
            ...(entry.amountCents !== null ? { amount_usd: formatUsd(entry.amountCents) } : {}),
          })),
        adjusted_by: refund
          ? refundEntries
              .filter((entry) => entry.refundId === refund.id)
              .map((entry) => ({ transaction_id: refund.id, entry_index: entry.entryIndex, quantity: entry.quantity, amount_usd: formatUsd(entry.amountCents) }))
          : [],
        refund: refund ? { id: refund.id, amount_usd: formatUsd(refund.amountCents), created_at_millis: refund.createdAt.getTime() } : null,
      };
    }),
    next_cursor: result.rows.length > query.limit && last ? `${last.createdAtMillis}_${last.id}` : null,
  };
}

/** What the built-in test processor recorded for the tenancy: its charges and refunds, newest first. */
export async function testProcessorLedger(db: Database, tenancyId: string): Promise<Record<string, unknown>> {
  const charges = await db.select().from(testProcessorCharge).where(eq(testProcessorCharge.tenancyId, tenancyId)).orderBy(desc(testProcessorCharge.createdAt)).limit(100);
  const refunds = await db.select().from(testProcessorRefund).where(and(eq(testProcessorRefund.tenancyId, tenancyId))).orderBy(desc(testProcessorRefund.createdAt)).limit(100);
  return {
    charges: charges.map((charge) => ({
      id: charge.id,
      amount_usd: formatUsd(charge.amountCents),
      description: charge.description,
      idempotency_key: charge.idempotencyKey,
      created_at_millis: charge.createdAt.getTime(),
    })),
    refunds: refunds.map((refund) => ({
      id: refund.id,
      charge_id: refund.chargeId,
      amount_usd: formatUsd(refund.amountCents),
      idempotency_key: refund.idempotencyKey,
      created_at_millis: refund.createdAt.getTime(),
    })),
  };
}
