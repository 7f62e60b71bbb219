import { formatUsd } from './money';

/**
 * Whether a refund request may be carried out on a purchase, and what it amounts to. Pure: the
 * caller has locked the purchase and read it; this only judges (DESIGN.md "Teams, payments and
 * refunds": never more than was bought or charged; test-mode purchases are not refundable).
 */

export interface RefundablePurchase {
  testMode: boolean;
  /** 'USD', or null when nothing was charged. */
  currency: string | null;
  chargedCents: number;
  entries: readonly { entryIndex: number; type: 'product_grant' | 'item_quantity_change'; quantity: number }[];
}

export interface RequestedRefundEntry {
  entryIndex: number;
  /** Units to take back; 0 refunds money only. */
  quantity: number;
  amountCents: number;
}

export type RefundDecision =
  | { ok: true; amountCents: number; refundedQuantity: number }
  | { ok: false; code: 'SCHEMA_ERROR' | 'TEST_MODE_PURCHASE_NON_REFUNDABLE'; message: string; path?: string };

export function decideRefund(purchase: RefundablePurchase, requested: readonly RequestedRefundEntry[]): RefundDecision {
  if (purchase.testMode) return { ok: false, code: 'TEST_MODE_PURCHASE_NON_REFUNDABLE', message: 'This purchase was granted in test mode, without a charge: there is nothing to refund.' };
  const seen = new Set<number>();
  let amountCents = 0;
  let refundedQuantity = 0;
  for (const [position, entry] of requested.entries()) {
    const path = `refund_entries.${position}`;
    const schemaError = (field: string, message: string): RefundDecision => ({ ok: false, code: 'SCHEMA_ERROR', message: `${path}.${field}: ${message}`, path: `${path}.${field}` });
    if (!Number.isSafeInteger(entry.quantity) || entry.quantity < 0) return schemaError('quantity', 'must be a whole number ≥ 0');
    if (!Number.isSafeInteger(entry.amountCents) || entry.amountCents < 0) return schemaError('amount_usd', 'must be a whole number of cents ≥ 0');
    if (seen.has(entry.entryIndex)) return schemaError('entry_index', `entry ${entry.entryIndex} is named twice`);
    seen.add(entry.entryIndex);
    const bought = purchase.entries.find((candidate) => candidate.entryIndex === entry.entryIndex);
    if (!bought) return schemaError('entry_index', `the purchase has no entry ${entry.entryIndex}`);
    if (bought.type !== 'product_grant') return schemaError('entry_index', `entry ${entry.entryIndex} is not a product grant (it is ${bought.type})`);
    if (entry.quantity > bought.quantity) return schemaError('quantity', `${entry.quantity} is more than the ${bought.quantity} bought`);
    if (entry.amountCents > 0 && purchase.currency !== 'USD') return schemaError('amount_usd', 'the purchase was not charged in USD: only "0" can be refunded');
    amountCents += entry.amountCents;
    refundedQuantity += entry.quantity;
  }
  if (amountCents > purchase.chargedCents) {
    return {
      ok: false,
      code: 'SCHEMA_ERROR',
      message: `refund_entries: the amounts add up to ${formatUsd(amountCents)} USD, more than the ${formatUsd(purchase.chargedCents)} USD charged`,
      path: 'refund_entries',
    };
  }
  return { ok: true, amountCents, refundedQuantity };
}
