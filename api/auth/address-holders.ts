import { and, eq, sql } from 'drizzle-orm';
import { contactChannel, projectUser } from '../../schema/tables';
import type { ApiError } from '../api-error';
import type { Database } from '../api-env';
import { normaliseEmail, type ChannelType } from '../channel-values';
import { decideClaim, type AddressHolder, type ClaimDecision } from './address-claims';
import { revokeUserSessions } from './sessions';

/** The database side of api/auth/address-claims.ts: who holds an address, and handing it over. */

type Transaction = Parameters<Parameters<Database['transaction']>[0]>[0];

/**
 * The unique indexes that keep a sign-in address to one user: a violation of one means a
 * concurrent claim of the same address won the race.
 */
export const authAddressConstraints: ReadonlySet<string> = new Set(['ContactChannel_auth_value_key', 'ContactChannel_auth_email_key']);

/** Matches the sign-in channels of an address (for emails through the index on lower(value)). */
function isAddress(tenancyId: string, type: ChannelType, value: string) {
  return and(
    eq(contactChannel.tenancyId, tenancyId),
    eq(contactChannel.type, type),
    type === 'EMAIL' ? sql`lower(${contactChannel.value}) = ${normaliseEmail(value)}` : eq(contactChannel.value, value),
    eq(contactChannel.usedForAuth, 'TRUE'),
  );
}

/**
 * The user that signs in with an address in this tenancy, if any. Inside a transaction the holder's
 * channel row is locked, so two claims of one address are decided one after the other.
 */
export async function findAddressHolder(
  tx: Pick<Database, 'select'>,
  tenancyId: string,
  type: ChannelType,
  value: string,
  lock = false,
): Promise<AddressHolder | undefined> {
  const query = tx
    .select({ userId: contactChannel.projectUserId, isVerified: contactChannel.isVerified, isAnonymous: projectUser.isAnonymous })
    .from(contactChannel)
    .innerJoin(projectUser, and(eq(projectUser.tenancyId, contactChannel.tenancyId), eq(projectUser.projectUserId, contactChannel.projectUserId)))
    .where(isAddress(tenancyId, type, value))
    .limit(1);
  const [row] = lock ? await query.for('update', { of: contactChannel }) : await query;
  return row;
}

/** The user that signs in with `email` (an EMAIL channel used for auth), if any. */
export function findUserByAuthEmail(tx: Pick<Database, 'select'>, tenancyId: string, email: string, lock = false): Promise<AddressHolder | undefined> {
  return findAddressHolder(tx, tenancyId, 'EMAIL', email, lock);
}

/** A user's EMAIL channels holding `email`, whether used for sign-in or not. */
function ofUserEmail(tenancyId: string, userId: string, email: string) {
  return and(
    eq(contactChannel.tenancyId, tenancyId),
    eq(contactChannel.projectUserId, userId),
    eq(contactChannel.type, 'EMAIL'),
    sql`lower(${contactChannel.value}) = ${normaliseEmail(email)}`,
  );
}

/** Whether the user has `email` among its channels (used for sign-in or not). */
export async function userHasEmail(tx: Pick<Database, 'select'>, tenancyId: string, userId: string, email: string): Promise<boolean> {
  const [row] = await tx.select({ id: contactChannel.id }).from(contactChannel).where(ofUserEmail(tenancyId, userId, email)).limit(1);
  return row !== undefined;
}

/**
 * Takes a sign-in address away from the account that holds it unverified: its channel stays (as a
 * contact address) but no longer signs in. When someone *proved* the address (`proven`), every
 * session of that account is revoked too: they may have been opened with an address that was never
 * its own. A mere claim (a sign-up) leaves them, so that a real owner who lost an unverified address
 * that way can still prove it from their session and take it back.
 */
export async function releaseUnverifiedAddress(
  tx: Transaction,
  tenancyId: string,
  holderUserId: string,
  address: { type: ChannelType; value: string },
  proven: boolean,
): Promise<void> {
  await tx
    .update(contactChannel)
    .set({ usedForAuth: null, updatedAt: new Date() })
    .where(and(isAddress(tenancyId, address.type, address.value), eq(contactChannel.projectUserId, holderUserId), eq(contactChannel.isVerified, false)));
  if (proven) await revokeUserSessions(tx, tenancyId, holderUserId, 'sign-in address proven by someone else');
}

/**
 * Prepares a claim of an address for sign-in by `claimantUserId` (undefined: a user about to be
 * created) inside the caller's transaction, by the rule of api/auth/address-claims.ts: free or own
 * goes ahead, an unverified holder elsewhere is released, a verified one refuses with `refused()`.
 */
export async function claimAddress(
  tx: Transaction,
  tenancyId: string,
  claim: { claimantUserId: string | undefined; type: ChannelType; value: string },
  refused: () => ApiError,
): Promise<ClaimDecision> {
  const holder = await findAddressHolder(tx, tenancyId, claim.type, claim.value, true);
  const decision = decideClaim(holder, claim.claimantUserId);
  if (decision.kind === 'refuse') throw refused();
  if (decision.kind === 'take-unverified') await releaseUnverifiedAddress(tx, tenancyId, decision.fromUserId, claim, false);
  return decision;
}

/**
 * The user proved `email`: its channels with that address are verified, one of them (the primary
 * first) signs in with it if none did, and an anonymous user is anonymous no longer. Any other
 * holder has been released by the caller.
 */
export async function verifyEmailForUser(tx: Transaction, tenancyId: string, userId: string, email: string): Promise<void> {
  const channels = await tx
    .update(contactChannel)
    .set({ isVerified: true, updatedAt: new Date() })
    .where(ofUserEmail(tenancyId, userId, email))
    .returning({ id: contactChannel.id, isPrimary: contactChannel.isPrimary, usedForAuth: contactChannel.usedForAuth });
  if (!channels.some((channel) => channel.usedForAuth === 'TRUE')) {
    const chosen = channels.find((channel) => channel.isPrimary === 'TRUE') ?? channels[0];
    if (chosen) {
      await tx
        .update(contactChannel)
        .set({ usedForAuth: 'TRUE' })
        .where(and(eq(contactChannel.tenancyId, tenancyId), eq(contactChannel.projectUserId, userId), eq(contactChannel.id, chosen.id)));
    }
  }
  await tx
    .update(projectUser)
    .set({ isAnonymous: false, updatedAt: new Date() })
    .where(and(eq(projectUser.tenancyId, tenancyId), eq(projectUser.projectUserId, userId), eq(projectUser.isAnonymous, true)));
}
