import { and, eq } from 'drizzle-orm';
import { Hono } from 'hono';
import { z } from 'zod';
import { passwordCredential } from '../../schema/auth-tables';
import { ApiError, knownErrors } from '../api-error';
import type { ApiEnv } from '../api-env';
import { readCurrentUser } from '../auth/current-user';
import { issueTokens } from '../auth/issue-tokens';
import { decoyHash, hashPassword, verifyPassword } from '../auth/password-hash';
import { isAllowedRedirect } from '../auth/redirect-urls';
import { countAttempt } from '../auth/attempt-limits';
import { findUserByAuthEmail } from '../auth/address-holders';
import { createOrUpgradeEmailUser } from '../auth/user-accounts';
import { normaliseEmail } from '../channel-values';
import { parseBody } from '../parse-body';
import { postgresErrorOf, uniqueViolation } from '../pg-errors';
import { loadProjectConfig } from '../project-config-store';
import { requireAccess } from '../project-auth';
import { judgeSignUp, recordJudgement, refuseRejectedSignUp, restrictingRuleOf } from '../sign-up-rules/sign-up-gate';
import { recordAnalyticsEvent } from '../analytics/events';

const minPasswordLength = 8;
const maxPasswordLength = 256;

export const passwordSignUpBody = z.strictObject({
  email: z.email().max(254),
  // Length is checked by hand to answer with PASSWORD_TOO_SHORT / PASSWORD_TOO_LONG.
  password: z.string().max(10_000),
  verification_callback_url: z.string().max(2_000).optional(),
});

export const passwordSignInBody = z.strictObject({
  email: z.email().max(254),
  password: z.string().max(10_000),
});

let decoy: Promise<string> | undefined;

export const passwordAuthRoutes = new Hono<ApiEnv>()
  /**
   * Creates a password user (or upgrades the signed-in anonymous user, keeping its id) and signs it
   * in. An address someone else holds unverified does not block it: that claim is released (the
   * address stays on that account as a contact) and this user signs in with it. A verified holder
   * answers 409 (api/auth/address-claims.ts). The project's sign-up rules judge it first: a
   * rejection writes nothing (403 SIGN_UP_REJECTED), a restriction marks the new user.
   */
  .post('/auth/password/sign-up', requireAccess('client', 'server'), async (c) => {
    const deps = c.get('deps');
    const project = c.get('project');
    const body = await parseBody(c, passwordSignUpBody);
    const config = await loadProjectConfig(deps.db, project.id);
    if (!config.auth.passwordEnabled) throw knownErrors.passwordAuthNotEnabled();
    if (body.password.length < minPasswordLength) throw knownErrors.passwordTooShort(minPasswordLength);
    if (body.password.length > maxPasswordLength) throw knownErrors.passwordTooLong(maxPasswordLength);
    if (body.verification_callback_url !== undefined && !isAllowedRedirect(body.verification_callback_url, 'callback', config.auth)) {
      throw knownErrors.redirectUrlNotWhitelisted('verification_callback_url');
    }
    const email = normaliseEmail(body.email);
    // Whether an address is taken is worth knowing to an attacker: asked as often as signing in.
    await countAttempt(c, 'sign-up', email);
    const current = await readCurrentUser(c);
    const judgement = judgeSignUp(deps.signUpRules, project.id, config.auth, {
      kind: current?.isAnonymous ? 'anonymous-upgrade' : 'new-user',
      authMethod: 'password',
      email,
    });
    // Recorded before anything else can fail: a match is a match, whatever becomes of the sign-up.
    await recordJudgement(deps.db, project, judgement);
    refuseRejectedSignUp(judgement);
    const passwordHash = await hashPassword(body.password, deps.auth.passwordHashLogN);
    const result = await deps.db
      .transaction(async (tx) => {
        const userId = await createOrUpgradeEmailUser(tx, project.tenancyId, {
          email,
          verified: false,
          ...(current?.isAnonymous ? { upgradeUserId: current.id } : {}),
          restrictedBySignUpRule: restrictingRuleOf(judgement),
        });
        await tx.insert(passwordCredential).values({ tenancyId: project.tenancyId, projectUserId: userId, passwordHash });
        await recordAnalyticsEvent(tx, { projectId: project.id, tenancyId: project.tenancyId, userId }, {
          type: 'sign_up',
          data: { auth_method: 'password', upgraded_from_anonymous: current?.isAnonymous === true },
        });
        return issueTokens(deps, project, { id: userId, isAnonymous: false }, tx);
      })
      .catch((error: unknown) => {
        if (error instanceof ApiError) throw error;
        const pgError = postgresErrorOf(error);
        // Two sign-ups for one email racing: the unique index decides, the loser gets the known error.
        if (pgError?.code === uniqueViolation) throw knownErrors.userEmailAlreadyExists();
        throw error;
      });
    return c.json(result, 201);
  })
  .post('/auth/password/sign-in', requireAccess('client', 'server'), async (c) => {
    const deps = c.get('deps');
    const project = c.get('project');
    const body = await parseBody(c, passwordSignInBody);
    const email = normaliseEmail(body.email);
    await countAttempt(c, 'sign-in', email);
    const config = await loadProjectConfig(deps.db, project.id);
    if (!config.auth.passwordEnabled) throw knownErrors.passwordAuthNotEnabled();
    const owner = await findUserByAuthEmail(deps.db, project.tenancyId, email);
    const [credential] = owner
      ? await deps.db
          .select({ passwordHash: passwordCredential.passwordHash })
          .from(passwordCredential)
          .where(and(eq(passwordCredential.tenancyId, project.tenancyId), eq(passwordCredential.projectUserId, owner.userId)))
      : [];
    // An unknown email costs a hash too, so timing does not tell which emails have accounts.
    decoy ??= decoyHash(deps.auth.passwordHashLogN);
    const matches = await verifyPassword(body.password, credential?.passwordHash ?? (await decoy));
    if (!owner || !credential || !matches) throw knownErrors.emailPasswordMismatch();
    const tokens = await deps.db.transaction(async (tx) => {
      await recordAnalyticsEvent(tx, { projectId: project.id, tenancyId: project.tenancyId, userId: owner.userId }, { type: 'sign_in', data: { auth_method: 'password' } });
      return issueTokens(deps, project, { id: owner.userId, isAnonymous: owner.isAnonymous }, tx);
    });
    return c.json(tokens);
  });
