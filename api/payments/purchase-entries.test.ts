import { describe, expect, it } from 'vitest';
import { itemQuantities, purchaseEntries } from './purchase-entries';

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
