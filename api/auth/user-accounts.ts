import { randomUUID } from 'node:crypto';
import { and, eq } from 'drizzle-orm';
import { projectUser } from '../../schema/tables';
import type { Database } from '../api-env';
import { applyPrimaryEmail } from '../primary-email';
import { signUpRuleRestrictionDetails } from '../sign-up-rules/rule-evaluator';

type Transaction = Parameters<Parameters<Database['transaction']>[0]>[0];

/** The restriction columns of a user a sign-up rule restricted: the public reason stays null. */
function ruleRestriction(ruleId: string): Pick<typeof projectUser.$inferInsert, 'restrictedByAdmin' | 'restrictedByAdminReason' | 'restrictedByAdminPrivateDetails'> {
  return { restrictedByAdmin: true, restrictedByAdminReason: null, restrictedByAdminPrivateDetails: signUpRuleRestrictionDetails(ruleId) };
}

/** A new user without a sign-in email (an OAuth identity whose address is not usable here). */
export async function createUserWithoutEmail(tx: Transaction, tenancyId: string, options: { restrictedBySignUpRule?: string | undefined } = {}): Promise<string> {
  const userId = randomUUID();
  await tx.insert(projectUser).values({ tenancyId, projectUserId: userId, ...(options.restrictedBySignUpRule ? ruleRestriction(options.restrictedBySignUpRule) : {}) });
  return userId;
}

/**
 * Restricts a signed-up user by a sign-up rule. An upgraded anonymous user that an admin already
 * restricted keeps the admin's reason and details.
 */
export async function restrictBySignUpRule(tx: Transaction, tenancyId: string, userId: string, ruleId: string): Promise<void> {
  await tx
    .update(projectUser)
    .set({ ...ruleRestriction(ruleId), updatedAt: new Date() })
    .where(and(eq(projectUser.tenancyId, tenancyId), eq(projectUser.projectUserId, userId), eq(projectUser.restrictedByAdmin, false)));
}

/**
 * Gives a user a sign-in email. An anonymous user (`upgradeUserId`) keeps its id and stops being
 * anonymous; otherwise a new user is created. Runs inside the caller's transaction, so the user,
 * its email and its credentials appear together. The address is claimed by the rule of
 * api/auth/address-claims.ts (409 USER_EMAIL_ALREADY_EXISTS when someone holds it verified).
 * `restrictedBySignUpRule` names the sign-up rule that restricts the user.
 */
export async function createOrUpgradeEmailUser(
  tx: Transaction,
  tenancyId: string,
  options: { email: string; verified: boolean; upgradeUserId?: string; restrictedBySignUpRule?: string | undefined },
): Promise<string> {
  let userId = options.upgradeUserId;
  if (userId) {
    await tx
      .update(projectUser)
      .set({ isAnonymous: false, updatedAt: new Date() })
      .where(and(eq(projectUser.tenancyId, tenancyId), eq(projectUser.projectUserId, userId)));
    if (options.restrictedBySignUpRule) await restrictBySignUpRule(tx, tenancyId, userId, options.restrictedBySignUpRule);
  } else {
    userId = randomUUID();
    await tx.insert(projectUser).values({
      tenancyId,
      projectUserId: userId,
      isAnonymous: false,
      ...(options.restrictedBySignUpRule ? ruleRestriction(options.restrictedBySignUpRule) : {}),
    });
  }
  await applyPrimaryEmail(tx, tenancyId, userId, { email: options.email, verified: options.verified, authEnabled: true });
  return userId;
}
