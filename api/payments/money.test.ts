import { describe, expect, it } from 'vitest';
import { formatUsd, maxAmountCents, multiplyCents, parseUsd } from './money';

describe('USD amounts', () => {
  // The design this replaces read "12.5" as 125 cents: this table pins the exact reading.
  it.each([
    ['12.5', 1250],
    ['12.50', 1250],
    ['12.05', 1205],
    ['0.07', 7],
    ['0.1', 10],
    ['0', 0],
    ['0.00', 0],
    ['3', 300],
    ['007', 700],
    ['19.99', 1999],
    ['0.29', 29], // 0.29 * 100 is 28.999999999999996 in floating point
    ['1.15', 115], // 1.15 * 100 is 114.99999999999999
    ['10000000000', 1_000_000_000_000],
  ])('parses %s as %i cents', (text, cents) => {
    expect(parseUsd(text)).toEqual({ ok: true, cents });
  });

  it.each(['', '.5', '12.', '12.345', '-1', '+1', '1e3', ' 1', '1 ', '1,50', '0x10', 'NaN', 'Infinity', '１２', '10000000000.01', '99999999999999999999999'])(
    'refuses %j',
    (text) => {
      expect(parseUsd(text).ok).toBe(false);
    },
  );

  it.each([
    [1250, '12.50'],
    [7, '0.07'],
    [0, '0.00'],
    [100, '1.00'],
    [maxAmountCents, '10000000000.00'],
  ])('formats %i cents as %s', (cents, text) => {
    expect(formatUsd(cents)).toBe(text);
    expect(parseUsd(text)).toEqual({ ok: true, cents });
  });

  it('refuses to format what is not whole cents', () => {
    expect(() => formatUsd(12.5)).toThrow(RangeError);
    expect(() => formatUsd(-1)).toThrow(RangeError);
  });

  it('multiplies exactly and refuses overflow', () => {
    expect(multiplyCents(1999, 3)).toBe(5997);
    expect(() => multiplyCents(maxAmountCents, 2)).toThrow(RangeError);
  });
});
