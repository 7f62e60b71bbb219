import { randomUUID } from 'node:crypto';
import { and, eq } from 'drizzle-orm';
import { contactChannel } from '../schema/tables';
import { knownErrors } from './api-error';
import type { Database } from './api-env';
import { claimAddress } from './auth/address-holders';
import { normaliseEmail } from './channel-values';

type Transaction = Parameters<Parameters<Database['transaction']>[0]>[0];

export interface PrimaryEmailChange {
  /** undefined: leave the address; null: remove the primary email channel. */
  email?: string | null;
  verified?: boolean;
  authEnabled?: boolean;
}

/**
 * Applies a user's primary-email fields to their primary EMAIL contact channel, inside the caller's
 * transaction: creates it, changes it, or removes it. A changed address is unverified unless the
 * request says otherwise. The address is stored normalised; when it becomes a sign-in address it
 * is claimed first (api/auth/address-claims.ts): an unverified holder elsewhere loses it, a
 * verified one answers 409 USER_EMAIL_ALREADY_EXISTS.
 */
export async function applyPrimaryEmail(tx: Transaction, tenancyId: string, userId: string, change: PrimaryEmailChange): Promise<void> {
  const { verified, authEnabled } = change;
  const email = typeof change.email === 'string' ? normaliseEmail(change.email) : change.email;
  if (email === undefined && verified === undefined && authEnabled === undefined) return;
  const ofUser = and(
    eq(contactChannel.tenancyId, tenancyId),
    eq(contactChannel.projectUserId, userId),
    eq(contactChannel.type, 'EMAIL'),
    eq(contactChannel.isPrimary, 'TRUE'),
  );
  const [current] = await tx.select().from(contactChannel).where(ofUser).for('update');
  if (email === null) {
    if (current) await tx.delete(contactChannel).where(ofUser);
    return;
  }
  const claim = (value: string) => claimAddress(tx, tenancyId, { claimantUserId: userId, type: 'EMAIL', value }, knownErrors.userEmailAlreadyExists);
  if (!current) {
    if (email === undefined) return;
    if (authEnabled !== false) await claim(email);
    await tx.insert(contactChannel).values({
      tenancyId,
      projectUserId: userId,
      id: randomUUID(),
      type: 'EMAIL',
      value: email,
      isPrimary: 'TRUE',
      isVerified: verified ?? false,
      usedForAuth: authEnabled === false ? null : 'TRUE',
    });
    return;
  }
  const value = email ?? current.value;
  const addressChanged = value !== current.value;
  const usedForAuth = authEnabled === undefined ? current.usedForAuth : authEnabled ? ('TRUE' as const) : null;
  if (usedForAuth === 'TRUE' && (addressChanged || current.usedForAuth !== 'TRUE')) await claim(value);
  await tx
    .update(contactChannel)
    .set({
      value,
      isVerified: verified ?? (addressChanged ? false : current.isVerified),
      usedForAuth,
      updatedAt: new Date(),
    })
    .where(ofUser);
}
