import { describe, expect, it } from 'vitest';
import { restrictedReason } from './restrictions';

describe('restricted_reason', () => {
  // Every combination: the first true reason in the order anonymous > email_not_verified > admin wins.
  const cases = [
    [true, false, true, true, 'anonymous'],
    [true, true, true, true, 'anonymous'],
    [false, false, true, true, 'email_not_verified'],
    [false, false, false, true, 'restricted_by_administrator'],
    [false, true, true, true, 'restricted_by_administrator'],
    [false, false, true, false, 'email_not_verified'],
    [false, true, true, false, null],
    [false, true, false, false, null],
    [false, false, false, false, null],
  ] as const;
  it.each(cases)('anonymous=%s verified=%s requireVerification=%s admin=%s → %s', (isAnonymous, primaryEmailVerified, requireVerification, restrictedByAdmin, expected) => {
    const reason = restrictedReason({ isAnonymous, primaryEmailVerified, restrictedByAdmin }, requireVerification);
    expect(reason?.type ?? null).toBe(expected);
  });
});
