import { describe, expect, it } from 'vitest';
import { decideClaim, decideCodeSignIn, decideOAuthEmail, type AddressHolder } from './address-claims';

const verified: AddressHolder = { userId: 'holder', isVerified: true, isAnonymous: false };
const unverified: AddressHolder = { userId: 'holder', isVerified: false, isAnonymous: false };

describe('claiming an address for sign-in', () => {
  it.each([
    ['nobody holds it', undefined, 'me', { kind: 'free' }],
    ['nobody holds it, new user', undefined, undefined, { kind: 'free' }],
    ['I hold it', { ...unverified, userId: 'me' }, 'me', { kind: 'own' }],
    ['I hold it verified', { ...verified, userId: 'me' }, 'me', { kind: 'own' }],
    ['someone holds it verified', verified, 'me', { kind: 'refuse' }],
    ['someone holds it verified, new user', verified, undefined, { kind: 'refuse' }],
    // The pre-hijack case: an unverified claim never blocks the sign-up of the real owner.
    ['someone holds it unverified', unverified, 'me', { kind: 'take-unverified', fromUserId: 'holder' }],
    ['someone holds it unverified, new user', unverified, undefined, { kind: 'take-unverified', fromUserId: 'holder' }],
  ] as const)('%s', (_case, holder, claimant, expected) => {
    expect(decideClaim(holder, claimant)).toEqual(expected);
  });
});

describe('signing in with a code that proves the address', () => {
  it.each([
    ['verified holder, no caller', verified, undefined, { kind: 'sign-in-holder', userId: 'holder', isAnonymous: false }],
    ['verified holder, another caller', verified, { userId: 'other', isAnonymous: true, hasAddress: true }, { kind: 'sign-in-holder', userId: 'holder', isAnonymous: false }],
    // The pre-hijack case: never into the account that only claimed the address.
    ['unverified holder, no caller', unverified, undefined, { kind: 'new-owner', releaseFromUserId: 'holder' }],
    ['unverified holder, signed-in other user', unverified, { userId: 'other', isAnonymous: false, hasAddress: false }, { kind: 'new-owner', releaseFromUserId: 'holder' }],
    ['unverified holder, anonymous caller', unverified, { userId: 'anon', isAnonymous: true, hasAddress: false }, { kind: 'new-owner', releaseFromUserId: 'holder', upgradeUserId: 'anon' }],
    ['unverified holder is the caller', unverified, { userId: 'holder', isAnonymous: false, hasAddress: true }, { kind: 'verify-for-caller', userId: 'holder' }],
    ['unverified anonymous holder is the caller', { ...unverified, isAnonymous: true }, { userId: 'holder', isAnonymous: true, hasAddress: true }, { kind: 'verify-for-caller', userId: 'holder' }],
    // An owner whose unverified address a sign-up took proves it from their session: it comes back.
    ['unverified holder, caller has the address too', unverified, { userId: 'owner', isAnonymous: false, hasAddress: true }, { kind: 'verify-for-caller', userId: 'owner', releaseFromUserId: 'holder' }],
    ['no holder, caller has the address', undefined, { userId: 'owner', isAnonymous: false, hasAddress: true }, { kind: 'verify-for-caller', userId: 'owner' }],
    ['no holder, no caller', undefined, undefined, { kind: 'new-owner' }],
    ['no holder, anonymous caller', undefined, { userId: 'anon', isAnonymous: true, hasAddress: false }, { kind: 'new-owner', upgradeUserId: 'anon' }],
    ['no holder, signed-in caller', undefined, { userId: 'other', isAnonymous: false, hasAddress: false }, { kind: 'new-owner' }],
  ] as const)('%s', (_case, holder, caller, expected) => {
    expect(decideCodeSignIn(holder, caller)).toEqual(expected);
  });
});

describe('a new OAuth identity whose provider vouches for its email', () => {
  it.each([
    ['nobody holds it', undefined, true, { kind: 'new-user-with-address' }],
    ['verified holder, linking allowed', verified, true, { kind: 'link-holder', userId: 'holder' }],
    ['verified holder, linking off', verified, false, { kind: 'new-user-without-address' }],
    ['unverified holder', unverified, true, { kind: 'new-user-with-address', releaseFromUserId: 'holder' }],
    ['unverified holder, linking off', unverified, false, { kind: 'new-user-with-address', releaseFromUserId: 'holder' }],
  ] as const)('%s', (_case, holder, link, expected) => {
    expect(decideOAuthEmail(holder, link)).toEqual(expected);
  });
});
