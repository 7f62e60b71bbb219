import { randomUUID } from 'node:crypto';
import { and, eq } from 'drizzle-orm';
import { projectUser } from '../../schema/tables';
import type { Database } from '../api-env';
import { applyPrimaryEmail } from '../primary-email';

type Transaction = Parameters<Parameters<Database['transaction']>[0]>[0];

/**
 * Gives a user a sign-in email. An anonymous user (`upgradeUserId`) keeps its id and stops being
 * anonymous; otherwise a new user is created. Runs inside the caller's transaction, so the user,
 * its email and its credentials appear together. The address is claimed by the rule of
 * api/auth/address-claims.ts (409 USER_EMAIL_ALREADY_EXISTS when someone holds it verified).
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
