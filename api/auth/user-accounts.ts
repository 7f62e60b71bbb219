import { randomUUID } from 'node:crypto';
import { and, eq } from 'drizzle-orm';
import { contactChannel, projectUser } from '../../schema/tables';
import type { Database } from '../api-env';
import { applyPrimaryEmail } from '../primary-email';

type Transaction = Parameters<Parameters<Database['transaction']>[0]>[0];

/** Emails compare case-insensitively for sign-in: stored and looked up in lower case. */
export function normaliseEmail(email: string): string {
  return email.trim().toLowerCase();
}

export interface AuthEmailOwner {
  userId: string;
  isVerified: boolean;
  isAnonymous: boolean;
}

/** The user that signs in with `email` in this tenancy (an EMAIL channel used for auth), if any. */
export async function findUserByAuthEmail(tx: Pick<Database, 'select'>, tenancyId: string, email: string): Promise<AuthEmailOwner | undefined> {
  const [row] = await tx
    .select({ userId: contactChannel.projectUserId, isVerified: contactChannel.isVerified, isAnonymous: projectUser.isAnonymous })
    .from(contactChannel)
    .innerJoin(projectUser, and(eq(projectUser.tenancyId, contactChannel.tenancyId), eq(projectUser.projectUserId, contactChannel.projectUserId)))
    .where(
      and(
        eq(contactChannel.tenancyId, tenancyId),
        eq(contactChannel.type, 'EMAIL'),
        eq(contactChannel.value, email),
        eq(contactChannel.usedForAuth, 'TRUE'),
      ),
    )
    .limit(1);
  return row;
}

/**
 * Gives a user a sign-in email. An anonymous user (`upgradeUserId`) keeps its id and stops being
 * anonymous; otherwise a new user is created. Runs inside the caller's transaction, so the user,
 * its email and its credentials appear together.
 */
export async function createOrUpgradeEmailUser(
  tx: Transaction,
  tenancyId: string,
  options: { email: string; verified: boolean; upgradeUserId?: string },
): Promise<string> {
  let userId = options.upgradeUserId;
  if (userId) {
    await tx
      .update(projectUser)
      .set({ isAnonymous: false, updatedAt: new Date() })
      .where(and(eq(projectUser.tenancyId, tenancyId), eq(projectUser.projectUserId, userId)));
  } else {
    userId = randomUUID();
    await tx.insert(projectUser).values({ tenancyId, projectUserId: userId, isAnonymous: false });
  }
  await applyPrimaryEmail(tx, tenancyId, userId, { email: options.email, verified: options.verified, authEnabled: true });
  return userId;
}

export async function markAuthEmailVerified(tx: Transaction, tenancyId: string, userId: string, email: string): Promise<void> {
  await tx
    .update(contactChannel)
    .set({ isVerified: true, updatedAt: new Date() })
    .where(
      and(
        eq(contactChannel.tenancyId, tenancyId),
        eq(contactChannel.projectUserId, userId),
        eq(contactChannel.type, 'EMAIL'),
        eq(contactChannel.value, email),
      ),
    );
}
