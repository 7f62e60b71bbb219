import { describe, expect, it } from 'vitest';
import type { PaymentsConfig } from '../../schema/payment-config';
import { catalogueIssues, paymentsInput, withPaymentsUpdate } from './catalogue-input';

const empty: PaymentsConfig = { testMode: false, items: {}, products: {} };

describe('catalogue input', () => {
  it('stores prices as integer cents and keeps what an update leaves out', () => {
    const input = paymentsInput.parse({ items: { seats: { customer_type: 'user' } }, products: { pro: { customer_type: 'user', price_usd: '12.5', included_items: { seats: { quantity: 2 } } } } });
    const stored = withPaymentsUpdate(empty, input);
    expect(stored.products.pro).toEqual({ displayName: '', customerType: 'user', priceCents: 1250, interval: 'one-time', includedItems: { seats: { quantity: 2 } } });
    expect(withPaymentsUpdate(stored, paymentsInput.parse({ test_mode: true }))).toEqual({ ...stored, testMode: true });
  });

  it.each([
    [{ products: { p: { customer_type: 'user', price_usd: '1.001' } } }, 'products.p.price_usd'],
    [{ products: { p: { customer_type: 'user', price_usd: 1 } } }, 'products.p.price_usd'],
    [{ products: { p: { customer_type: 'user' } } }, 'products.p.price_usd'],
    [{ products: { 'a b': { customer_type: 'user', price_usd: '1' } } }, 'products.a b'],
    [{ items: { i: { customer_type: 'robot' } } }, 'items.i.customer_type'],
    [{ products: { p: { customer_type: 'user', price_usd: '1', included_items: { i: { quantity: -1 } } } } }, 'products.p.included_items.i.quantity'],
  ])('refuses %j at %s', (body, path) => {
    const parsed = paymentsInput.safeParse(body);
    expect(parsed.success).toBe(false);
    expect(parsed.error?.issues.map((issue) => issue.path.join('.'))).toContain(path);
  });

  it.each<[string, PaymentsConfig, string[]]>([
    ['a consistent catalogue', { ...empty, items: { s: { displayName: '', customerType: 'team' } }, products: { p: { displayName: '', customerType: 'team', priceCents: 1, interval: 'month', includedItems: { s: { quantity: 1 } } } } }, []],
    ['an unknown item', { ...empty, products: { p: { displayName: '', customerType: 'user', priceCents: 1, interval: 'one-time', includedItems: { ghost: { quantity: 1 } } } } }, ['payments.products.p.included_items.ghost']],
    [
      'an item of another customer type',
      { ...empty, items: { s: { displayName: '', customerType: 'team' } }, products: { p: { displayName: '', customerType: 'user', priceCents: 1, interval: 'one-time', includedItems: { s: { quantity: 1 } } } } },
      ['payments.products.p.included_items.s'],
    ],
  ])('cross-checks %s', (_, payments, paths) => {
    expect(catalogueIssues(payments).map((issue) => issue.path)).toEqual(paths);
  });
});
