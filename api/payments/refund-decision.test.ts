import { describe, expect, it } from 'vitest';
import { decideRefund, type RefundablePurchase, type RequestedRefundEntry } from './refund-decision';

const purchase: RefundablePurchase = {
  testMode: false,
  currency: 'USD',
  chargedCents: 3750,
  entries: [
    { entryIndex: 0, type: 'product_grant', quantity: 3 },
    { entryIndex: 1, type: 'item_quantity_change', quantity: 30 },
  ],
};

const entry = (entryIndex: number, quantity: number, amountCents: number): RequestedRefundEntry => ({ entryIndex, quantity, amountCents });

describe('refund decision', () => {
  it.each<[string, RequestedRefundEntry[], { amountCents: number; refundedQuantity: number }]>([
    ['everything', [entry(0, 3, 3750)], { amountCents: 3750, refundedQuantity: 3 }],
    ['a part', [entry(0, 1, 1250)], { amountCents: 1250, refundedQuantity: 1 }],
    ['money only (zero quantity)', [entry(0, 0, 500)], { amountCents: 500, refundedQuantity: 0 }],
    ['units only (zero amount)', [entry(0, 2, 0)], { amountCents: 0, refundedQuantity: 2 }],
    ['nothing at all', [entry(0, 0, 0)], { amountCents: 0, refundedQuantity: 0 }],
    ['no entries', [], { amountCents: 0, refundedQuantity: 0 }],
  ])('accepts %s', (_, requested, expected) => {
    expect(decideRefund(purchase, requested)).toEqual({ ok: true, ...expected });
  });

  it.each<[string, RefundablePurchase, RequestedRefundEntry[], string, RegExp]>([
    ['a negative quantity', purchase, [entry(0, -1, 0)], 'refund_entries.0.quantity', /whole number/],
    ['a fractional quantity', purchase, [entry(0, 1.5, 0)], 'refund_entries.0.quantity', /whole number/],
    ['a duplicate index', purchase, [entry(0, 1, 0), entry(0, 1, 0)], 'refund_entries.1.entry_index', /named twice/],
    ['an index that does not exist', purchase, [entry(7, 1, 0)], 'refund_entries.0.entry_index', /no entry 7/],
    ['an index that is not a product grant', purchase, [entry(1, 1, 0)], 'refund_entries.0.entry_index', /not a product grant/],
    ['a quantity above what was bought', purchase, [entry(0, 4, 0)], 'refund_entries.0.quantity', /4 is more than the 3 bought/],
    ['a total above what was charged', purchase, [entry(0, 3, 3751)], 'refund_entries', /37\.51 USD, more than the 37\.50 USD charged/],
    ['a fractional amount of cents', purchase, [entry(0, 1, 0.5)], 'refund_entries.0.amount_usd', /whole number of cents/],
    ['a negative amount', purchase, [entry(0, 1, -1)], 'refund_entries.0.amount_usd', /whole number of cents/],
    ['an amount that is not a number', purchase, [entry(0, 1, Number.NaN)], 'refund_entries.0.amount_usd', /whole number of cents/],
    ['an amount on a non-USD purchase', { ...purchase, currency: 'EUR' }, [entry(0, 1, 100)], 'refund_entries.0.amount_usd', /not charged in USD/],
  ])('refuses %s', (_, target, requested, path, message) => {
    const decision = decideRefund(target, requested);
    expect(decision).toMatchObject({ ok: false, code: 'SCHEMA_ERROR', path });
    expect(decision.ok ? '' : decision.message).toMatch(message);
  });

  it('allows a zero amount on a non-USD purchase', () => {
    expect(decideRefund({ ...purchase, currency: null, chargedCents: 0 }, [entry(0, 1, 0)])).toEqual({ ok: true, amountCents: 0, refundedQuantity: 1 });
  });

  it('never refunds a test-mode purchase, whatever the entries', () => {
    expect(decideRefund({ ...purchase, testMode: true }, [entry(0, 0, 0)])).toMatchObject({ ok: false, code: 'TEST_MODE_PURCHASE_NON_REFUNDABLE' });
  });
});
