/**
 * USD amounts: decimal strings in the API ("12.5"), integer cents everywhere else. The conversion is
 * done on the digits, never through floating point ("12.5" is 1250 cents; the design this replaces
 * sent 125). A dozen lines of string handling did not justify a money library (dinero.js 2 is still
 * an alpha and parses no strings; big.js and decimal.js are arbitrary-precision floats).
 */

/** What the API accepts: whole dollars with at most two decimals, no sign, no exponent. */
export const usdAmountPattern = /^[0-9]+(\.[0-9]{1,2})?$/;

/**
 * The largest amount anything may hold: $10 billion. Far below 2^53 cents, so sums and products of
 * bounded amounts and quantities stay exact as JS numbers.
 */
export const maxAmountCents = 1_000_000_000_000;

export type ParsedUsd = { ok: true; cents: number } | { ok: false; problem: string };

/** "12.5" → 1250, "0.07" → 7, "3" → 300; anything else is refused with why. */
export function parseUsd(text: string): ParsedUsd {
  if (!usdAmountPattern.test(text)) return { ok: false, problem: 'a USD amount like "12", "12.5" or "12.50" (digits, at most two decimals)' };
  const [whole = '0', fraction = ''] = text.split('.');
  // Digits only (checked above): BigInt is exact at any length, and the bound check comes before Number().
  const cents = BigInt(whole) * 100n + BigInt(fraction.padEnd(2, '0') || '0');
  if (cents > BigInt(maxAmountCents)) return { ok: false, problem: `at most ${formatUsd(maxAmountCents)} USD` };
  return { ok: true, cents: Number(cents) };
}

/** 1250 → "12.50": always two decimals, as the amounts are shown. */
export function formatUsd(cents: number): string {
  if (!Number.isSafeInteger(cents) || cents < 0) throw new RangeError(`not a non-negative whole number of cents: ${cents}`);
  const whole = Math.floor(cents / 100);
  const fraction = cents % 100;
  return `${whole}.${String(fraction).padStart(2, '0')}`;
}

/** Unit price × quantity, refused past the bound rather than rounded. */
export function multiplyCents(unitCents: number, quantity: number): number {
  const total = unitCents * quantity;
  if (!Number.isSafeInteger(total) || total > maxAmountCents) throw new RangeError(`amount out of range: ${unitCents} × ${quantity}`);
  return total;
}
