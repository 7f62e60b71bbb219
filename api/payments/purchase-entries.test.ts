import { describe, expect, it } from 'vitest';
import { itemQuantities, purchaseEntries, purchaseSizeProblem } from './purchase-entries';

describe('purchase entries', () => {
  it('grants the product first, then its items scaled by quantity, with exact cents', () => {
    const entries = purchaseEntries('pro', { displayName: 'Pro', customerType: 'user', priceCents: 1250, interval: 'one-time', includedItems: { seats: { quantity: 5 }, credits: { quantity: 100 } } }, 3);
    expect(entries).toEqual([
      { entryIndex: 0, type: 'product_grant', productId: 'pro', itemId: null, quantity: 3, unitPriceCents: 1250, amountCents: 3750 },
      { entryIndex: 1, type: 'item_quantity_change', productId: null, itemId: 'credits', quantity: 300, unitPriceCents: null, amountCents: null },
      { entryIndex: 2, type: 'item_quantity_change', productId: null, itemId: 'seats', quantity: 15, unitPriceCents: null, amountCents: null },
    ]);
  });
});

describe('item quantities', () => {
  it.each([
    ['nothing', [], {}],
    ['one purchase', [{ unitsBought: 2, unitsGranting: 2, items: [{ itemId: 'seats', quantity: 10 }] }], { seats: 10 }],
    ['a refunded purchase grants nothing', [{ unitsBought: 2, unitsGranting: 0, items: [{ itemId: 'seats', quantity: 10 }] }], { seats: 0 }],
    ['a subscription reduced from 3 to 1 unit', [{ unitsBought: 3, unitsGranting: 1, items: [{ itemId: 'seats', quantity: 15 }] }], { seats: 5 }],
    [
      'several purchases add up',
      [
        { unitsBought: 1, unitsGranting: 1, items: [{ itemId: 'seats', quantity: 5 }, { itemId: 'credits', quantity: 100 }] },
        { unitsBought: 2, unitsGranting: 2, items: [{ itemId: 'seats', quantity: 4 }] },
      ],
      { seats: 9, credits: 100 },
    ],
  ])('%s', (_, grants, expected) => {
    expect(Object.fromEntries(itemQuantities(grants))).toEqual(expected);
  });
});

describe('purchase size', () => {
  const credits = { displayName: 'Credits', customerType: 'user' as const, priceCents: 100, interval: 'one-time' as const, includedItems: { tokens: { quantity: 1_000_000 } } };
  // A valid catalogue (1e6 per unit) and a valid quantity (3,000) made 3e9 tokens: the charge went
  // through, then the entry overflowed Postgres's integer and nothing was recorded, on every retry.
  it.each([
    ['within every bound', credits, 2_000, undefined],
    ['items past what an entry holds', credits, 3_000, 'quantity: 3000 units would grant 3000000000 of item tokens, more than 2147483647'],
    ['a price past what a purchase may cost', { ...credits, priceCents: 100_000_000_000, includedItems: {} }, 10_000, 'quantity: 10000 units would cost 1000000000000000 cents, more than one purchase may'],
  ])('%s', (_, product, quantity, expected) => {
    expect(purchaseSizeProblem(product, quantity)).toBe(expected);
  });
});
