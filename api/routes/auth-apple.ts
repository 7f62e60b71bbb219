import { and, eq } from 'drizzle-orm';
import { Hono } from 'hono';
import { z } from 'zod';
import { oauthAccount } from '../../schema/auth-tables';
import { projectUser } from '../../schema/tables';
import { knownErrors } from '../api-error';
import type { ApiEnv } from '../api-env';
import { verifyAppleIdToken, type AppleIdentity } from '../auth/apple-id-token';
import { issueTokens } from '../auth/issue-tokens';
import { decideOAuthEmail } from '../auth/address-claims';
import { findUserByAuthEmail, releaseUnverifiedAddress } from '../auth/address-holders';
import { createOrUpgradeEmailUser, createUserWithoutEmail } from '../auth/user-accounts';
import { normaliseEmail } from '../channel-values';
import { parseBody } from '../parse-body';
import { loadProjectConfig } from '../project-config-store';
import { requireAccess } from '../project-auth';
import { judgeSignUp, recordJudgement, refuseRejectedSignUp, restrictingRuleOf, type SignUpJudgement } from '../sign-up-rules/sign-up-gate';
import { recordAnalyticsEvent } from '../analytics/events';
import { randomUUID } from 'node:crypto';

export const appleNativeBody = z.strictObject({ id_token: z.string().min(1).max(10_000) });

export const appleAuthRoutes = new Hono<ApiEnv>().post('/auth/oauth/callback/apple/native', requireAccess('client', 'server'), async (c) => {
  const deps = c.get('deps');
  const project = c.get('project');
  const body = await parseBody(c, appleNativeBody);
  const { auth } = await loadProjectConfig(deps.db, project.id);
  const { apple, linkOAuthByVerifiedEmail } = auth;
  if (!apple.enabled) throw knownErrors.oauthProviderNotEnabled();
  if (apple.bundleIds.length === 0) throw knownErrors.appleBundleIdNotConfigured();
  let identity: AppleIdentity;
  try {
    identity = await verifyAppleIdToken(body.id_token, { jwksUrl: deps.auth.appleJwksUrl, bundleIds: apple.bundleIds });
  } catch {
    throw knownErrors.invalidAppleCredentials();
  }
  const email = identity.email ? normaliseEmail(identity.email) : undefined;
  // Set inside the transaction once a new user is judged; recorded after it, committed or not.
  let judgement: SignUpJudgement | undefined;
  const result = await deps.db.transaction(async (tx) => {
    const [account] = await tx
      .select({ userId: oauthAccount.projectUserId, isAnonymous: projectUser.isAnonymous })
      .from(oauthAccount)
      .innerJoin(projectUser, and(eq(projectUser.tenancyId, oauthAccount.tenancyId), eq(projectUser.projectUserId, oauthAccount.projectUserId)))
      .where(and(eq(oauthAccount.tenancyId, project.tenancyId), eq(oauthAccount.provider, 'apple'), eq(oauthAccount.providerAccountId, identity.sub)));
    const subject = (userId: string) => ({ projectId: project.id, tenancyId: project.tenancyId, userId });
    if (account) {
      await recordAnalyticsEvent(tx, subject(account.userId), { type: 'sign_in', data: { auth_method: 'oauth', oauth_provider: 'apple' } });
      return issueTokens(deps, project, { id: account.userId, isAnonymous: account.isAnonymous }, tx);
    }

    // Apple vouching for the email proves it, as a code would (api/auth/address-claims.ts): linking
    // to an account only where the address is verified and the project allows it, otherwise anyone
    // who registers an address at Apple could take over the account that uses it here.
    const decision = email && identity.emailVerified
      ? decideOAuthEmail(await findUserByAuthEmail(tx, project.tenancyId, email, true), linkOAuthByVerifiedEmail)
      : ({ kind: 'new-user-without-address' } as const);
    let userId: string;
    if (decision.kind === 'link-holder') {
      // Linked to its owner's existing account: a sign-in, not a sign-up.
      userId = decision.userId;
    } else {
      // A new user: the sign-up rules see the address only when Apple vouches for it, so an
      // unverified claim cannot pass an allow-listed domain.
      judgement = judgeSignUp(deps.signUpRules, project.id, auth, {
        kind: 'new-user',
        authMethod: 'oauth',
        oauthProvider: 'apple',
        email: identity.emailVerified ? email : undefined,
      });
      refuseRejectedSignUp(judgement);
      const restrictedBySignUpRule = restrictingRuleOf(judgement);
      if (decision.kind === 'new-user-with-address' && email) {
        if (decision.releaseFromUserId) await releaseUnverifiedAddress(tx, project.tenancyId, decision.releaseFromUserId, { type: 'EMAIL', value: email }, true);
        userId = await createOrUpgradeEmailUser(tx, project.tenancyId, { email, verified: true, restrictedBySignUpRule });
      } else {
        // No usable email (or one that belongs to someone else, verified): a user without a sign-in email.
        userId = await createUserWithoutEmail(tx, project.tenancyId, { restrictedBySignUpRule });
      }
    }
    await recordAnalyticsEvent(
      tx,
      subject(userId),
      decision.kind === 'link-holder'
        ? { type: 'sign_in', data: { auth_method: 'oauth', oauth_provider: 'apple' } }
        : { type: 'sign_up', data: { auth_method: 'oauth', oauth_provider: 'apple', upgraded_from_anonymous: false } },
    );
    await tx.insert(oauthAccount).values({ tenancyId: project.tenancyId, provider: 'apple', providerAccountId: identity.sub, projectUserId: userId, email: email ?? null });
    return issueTokens(deps, project, { id: userId, isAnonymous: false }, tx);
  }).finally(() => recordJudgement(deps.db, project, judgement));
  return c.json(result);
});
