import { describe, expect, it } from 'vitest';
import { formatLsn, maxLsn, parseLsn } from './lsn';

describe('LSN', () => {
  it.each([
    ['0/0', 0n],
    ['0/1930F18', 0x1930f18n],
    ['00000000/01930F18', 0x1930f18n],
    ['1/0', 1n << 32n],
    ['FFFFFFFF/FFFFFFFF', 0xffffffffffffffffn],
    ['a/b', (0xan << 32n) | 0xbn],
  ])('parses %s', (text, value) => {
    expect(parseLsn(text)).toBe(value);
  });

  it('compares padded and unpadded forms as the same position', () => {
    expect(parseLsn('0/1930F18')).toBe(parseLsn('00000000/01930F18'));
    // As strings these sort the wrong way round: the reason LSNs are compared as integers.
    expect('0/A' > '0/10').toBe(true);
    expect(parseLsn('0/A') < parseLsn('0/10')).toBe(true);
  });

  it.each(['', '0', '0/', '/1', 'G/1', '0/123456789', '1/2/3', ' 0/1'])('rejects %j', (text) => {
    expect(() => parseLsn(text)).toThrow(/not an LSN/);
  });

  it('formats without padding, round-tripping', () => {
    for (const text of ['0/0', '0/1930F18', '16/B374D848', 'FFFFFFFF/FFFFFFFF']) expect(formatLsn(parseLsn(text))).toBe(text);
    expect(() => formatLsn(-1n)).toThrow();
    expect(maxLsn(5n, 7n)).toBe(7n);
    expect(maxLsn(9n, 7n)).toBe(9n);
  });
});
