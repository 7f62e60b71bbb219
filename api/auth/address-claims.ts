/**
 * Who may sign in with an address (an email or phone channel with `usedForAuth`), decided without
 * touching the database. One rule runs through it: **an unverified address belongs to nobody.**
 * Holding it unverified neither blocks the address's owner (their sign-up, their channel) nor
 * captures them (their code sign-in lands in their own account, never in one someone else set up
 * with their address). Only a verified address is exclusive. See README "Who owns an address".
 */

/** The account that signs in with an address today. */
export interface AddressHolder {
  userId: string;
  isVerified: boolean;
  isAnonymous: boolean;
}

/** The signed-in user of the request, if any. */
export interface Caller {
  userId: string;
  isAnonymous: boolean;
  /** Whether the caller has the address among its contact channels (for sign-in or not). */
  hasAddress: boolean;
}

/** What a new claim on an address (a sign-up, a channel marked for sign-in) does. */
export type ClaimDecision =
  /** Nobody signs in with it: take it. */
  | { kind: 'free' }
  /** The claimant already holds it. */
  | { kind: 'own' }
  /** Held unverified elsewhere: that claim is released (its sessions stay: nothing was proven), then take it. */
  | { kind: 'take-unverified'; fromUserId: string }
  /** Held verified by another account: 409. */
  | { kind: 'refuse' };

export function decideClaim(holder: AddressHolder | undefined, claimantUserId: string | undefined): ClaimDecision {
  if (!holder) return { kind: 'free' };
  if (claimantUserId !== undefined && holder.userId === claimantUserId) return { kind: 'own' };
  if (holder.isVerified) return { kind: 'refuse' };
  return { kind: 'take-unverified', fromUserId: holder.userId };
}

/** Where a proof of the address (a correct emailed code) signs its prover in. */
export type ProvenAddressDecision =
  /** The address was verified there: that account's owner is back. */
  | { kind: 'sign-in-holder'; userId: string; isAnonymous: boolean }
  /**
   * The prover is signed in to an account that holds the address or has it among its channels (an
   * email verification, or an owner taking back an address a sign-up took): it becomes that
   * account's verified sign-in address; another unverified holder is released first.
   */
  | { kind: 'verify-for-caller'; userId: string; releaseFromUserId?: string }
  /**
   * A new owner: the signed-in anonymous caller (upgraded in place) or a fresh user, given the
   * address verified. An unverified claim elsewhere is released first.
   */
  | { kind: 'new-owner'; releaseFromUserId?: string; upgradeUserId?: string };

/** Releases on this path follow a proof: the released account's sessions are revoked. */
export function decideCodeSignIn(holder: AddressHolder | undefined, caller: Caller | undefined): ProvenAddressDecision {
  if (holder?.isVerified) return { kind: 'sign-in-holder', userId: holder.userId, isAnonymous: holder.isAnonymous };
  if (caller && (holder?.userId === caller.userId || caller.hasAddress)) {
    return { kind: 'verify-for-caller', userId: caller.userId, ...(holder && holder.userId !== caller.userId ? { releaseFromUserId: holder.userId } : {}) };
  }
  return {
    kind: 'new-owner',
    ...(holder ? { releaseFromUserId: holder.userId } : {}),
    ...(caller?.isAnonymous ? { upgradeUserId: caller.userId } : {}),
  };
}

/** Where an OAuth identity whose provider vouches for its email lands when the identity is new here. */
export type OAuthEmailDecision =
  /** Link to the account that holds the address verified (the project allows linking by email). */
  | { kind: 'link-holder'; userId: string }
  /** A new user that signs in with the address (verified); an unverified claim elsewhere is released. */
  | { kind: 'new-user-with-address'; releaseFromUserId?: string }
  /** A new user without a sign-in address (the address is someone else's, verified). */
  | { kind: 'new-user-without-address' };

export function decideOAuthEmail(holder: AddressHolder | undefined, linkByVerifiedEmail: boolean): OAuthEmailDecision {
  if (!holder) return { kind: 'new-user-with-address' };
  if (holder.isVerified) return linkByVerifiedEmail ? { kind: 'link-holder', userId: holder.userId } : { kind: 'new-user-without-address' };
  return { kind: 'new-user-with-address', releaseFromUserId: holder.userId };
}
