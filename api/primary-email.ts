import { randomUUID } from 'node:crypto';
import { and, eq } from 'drizzle-orm';
import { contactChannel } from '../schema/tables';
import type { Database } from './api-env';

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
 * request says otherwise.
 */
export async function applyPrimaryEmail(tx: Transaction, tenancyId: string, userId: string, change: PrimaryEmailChange): Promise<void> {
  const { email, verified, authEnabled } = change;
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
  if (!current) {
    if (email === undefined) return;
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
  const addressChanged = email !== undefined && email !== current.value;
  await tx
    .update(contactChannel)
    .set({
      value: email ?? current.value,
      isVerified: verified ?? (addressChanged ? false : current.isVerified),
      usedForAuth: authEnabled === undefined ? current.usedForAuth : authEnabled ? 'TRUE' : null,
      updatedAt: new Date(),
    })
    .where(ofUser);
}
