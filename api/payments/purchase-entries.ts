import type { StoredProduct } from '../../schema/payment-config';
import { multiplyCents } from './money';

/**
 * The entries a purchase records (pure): index 0 grants the product (units and USD price), then one
 * entry per included item with the quantity all units grant together, in item id order.
 */
export interface PurchaseEntryValues {
  entryIndex: number;
  type: 'product_grant' | 'item_quantity_change';
  productId: string | null;
  itemId: string | null;
  quantity: number;
  unitPriceCents: number | null;
  amountCents: number | null;
}

/** Largest quantity an entry can hold (`"PurchaseEntry".quantity` is a Postgres integer). */
export const maxEntryQuantity = 2 ** 31 - 1;

/**
 * Why `quantity` units of `product` cannot be sold, if they cannot: the price or an item's quantity
 * would leave what an entry can hold. Judged before any session or charge exists, so a purchase is
 * never charged and then refused by the database (every retry charging again for nothing).
 */
export function purchaseSizeProblem(product: StoredProduct, quantity: number): string | undefined {
  const amount = product.priceCents * quantity;
  try {
    multiplyCents(product.priceCents, quantity);
  } catch {
    return `quantity: ${quantity} units would cost ${amount} cents, more than one purchase may`;
  }
  for (const [itemId, item] of Object.entries(product.includedItems)) {
    if (item.quantity * quantity > maxEntryQuantity) return `quantity: ${quantity} units would grant ${item.quantity * quantity} of item ${itemId}, more than ${maxEntryQuantity}`;
  }
  return undefined;
}

export function purchaseEntries(productId: string, product: StoredProduct, quantity: number): PurchaseEntryValues[] {
  const items = Object.entries(product.includedItems).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return [
    {
      entryIndex: 0,
      type: 'product_grant',
      productId,
      itemId: null,
      quantity,
      unitPriceCents: product.priceCents,
      amountCents: multiplyCents(product.priceCents, quantity),
    },
    ...items.map(([itemId, item], position) => ({
      entryIndex: position + 1,
      type: 'item_quantity_change' as const,
      productId: null,
      itemId,
      quantity: item.quantity * quantity,
      unitPriceCents: null,
      amountCents: null,
    })),
  ];
}

/** One purchase as far as its items go. */
export interface ItemGrant {
  /** Units bought (the product grant's quantity). */
  unitsBought: number;
  /** Units that still grant: 0 for a refunded one-time purchase, a subscription's current quantity. */
  unitsGranting: number;
  items: readonly { itemId: string; quantity: number }[];
}

/**
 * A customer's quantity of each item: every grant's item entries, scaled to the units that still
 * grant. Entries hold per-unit quantity × units bought, so the division is exact.
 */
export function itemQuantities(grants: readonly ItemGrant[]): Map<string, number> {
  const totals = new Map<string, number>();
  for (const grant of grants) {
    for (const item of grant.items) {
      const perUnit = grant.unitsBought === 0 ? 0 : item.quantity / grant.unitsBought;
      totals.set(item.itemId, (totals.get(item.itemId) ?? 0) + perUnit * grant.unitsGranting);
    }
  }
  return totals;
}
