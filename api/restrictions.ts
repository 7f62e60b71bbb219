/**
 * Whether a user is restricted, and why. Several reasons may hold at once; the one reported is the
 * first in this order: anonymous > email_not_verified > restricted_by_administrator.
 */
export type RestrictedReasonType = 'anonymous' | 'email_not_verified' | 'restricted_by_administrator';

export interface RestrictionInput {
  isAnonymous: boolean;
  primaryEmailVerified: boolean;
  restrictedByAdmin: boolean;
}

export function restrictedReason(user: RestrictionInput, requireEmailVerification: boolean): { type: RestrictedReasonType } | null {
  if (user.isAnonymous) return { type: 'anonymous' };
  if (requireEmailVerification && !user.primaryEmailVerified) return { type: 'email_not_verified' };
  if (user.restrictedByAdmin) return { type: 'restricted_by_administrator' };
  return null;
}
