import { describe, expect, it } from 'vitest';
import { judgeProgress, safelyRetainedSince } from './progress-proof';

describe('judgeProgress', () => {
  it.each([
    ['caught up', 100n, { logStart: 0n, end: 100n, firstSafelyRetained: 100n }, { kind: 'provable' }],
    ['ahead of a recreated topic', 120n, { logStart: 0n, end: 100n, firstSafelyRetained: 100n }, { kind: 'ahead-of-topic', end: 100n }],
    ['behind, but every record after it is recent', 40n, { logStart: 0n, end: 100n, firstSafelyRetained: 30n }, { kind: 'provable' }],
    ['behind exactly from the first recent record', 40n, { logStart: 0n, end: 100n, firstSafelyRetained: 40n }, { kind: 'provable' }],
    ['behind records older than the retention', 40n, { logStart: 0n, end: 100n, firstSafelyRetained: 41n }, { kind: 'deletes-unprovable' }],
    ['behind a topic with no recent record at all', 40n, { logStart: 0n, end: 100n, firstSafelyRetained: 100n }, { kind: 'deletes-unprovable' }],
    ['below the log start', 10n, { logStart: 20n, end: 100n, firstSafelyRetained: 100n }, { kind: 'records-lost', logStart: 20n }],
    ['at the log start', 20n, { logStart: 20n, end: 100n, firstSafelyRetained: 0n }, { kind: 'provable' }],
    ['a new database of an old topic', 0n, { logStart: 0n, end: 100n, firstSafelyRetained: 90n }, { kind: 'deletes-unprovable' }],
  ] as const)('%s', (_, next, bounds, verdict) => {
    expect(judgeProgress(next, bounds)).toEqual(verdict);
  });

  it('keeps a margin for clock skew: a tenth of the retention, at most an hour', () => {
    expect(safelyRetainedSince(1_000_000, 100_000)).toBe(1_000_000 - 90_000);
    expect(safelyRetainedSince(10 * 86_400_000, 7 * 86_400_000)).toBe(10 * 86_400_000 - (7 * 86_400_000 - 3_600_000));
  });
});
