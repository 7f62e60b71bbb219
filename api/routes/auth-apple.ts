import { and, eq } from 'drizzle-orm';
import { Hono } from 'hono';
import { z } from 'zod';
import { oauthAccount } from '../../schema/auth-tables';
import { projectUser } from '../../schema/tables';
import { knownErrors } from '../api-error';
import type { ApiEnv } from '../api-env';
import { verifyAppleIdToken, type AppleIdentity } from '../auth/apple-id-token';
import { issueTokens } from '../auth/issue-tokens';
import { createOrUpgradeEmailUser, findUserByAuthEmail, normaliseEmail } from '../auth/user-accounts';
import { parseBody } from '../parse-body';
import { loadProjectConfig } from '../project-config-store';
import { requireAccess } from '../project-auth';
import { randomUUID } from 'node:crypto';

export const appleNativeBody = z.strictObject({ id_token: z.string().min(1).max(10_000) });

export const appleAuthRoutes = new Hono<ApiEnv>().post('/auth/oauth/callback/apple/native', requireAccess('client', 'server'), async (c) => {
  const deps = c.get('deps');
  const project = c.get('project');
  const body = await parseBody(c, appleNativeBody);
  const { apple, linkOAuthByVerifiedEmail } = (await loadProjectConfig(deps.db, project.id)).auth;
  if (!apple.enabled) throw knownErrors.oauthProviderNotEnabled();
  if (apple.bundleIds.length === 0) throw knownErrors.appleBundleIdNotConfigured();
  let identity: AppleIdentity;
  try {
    identity = await verifyAppleIdToken(body.id_token, { jwksUrl: deps.auth.appleJwksUrl, bundleIds: apple.bundleIds });
  } catch {
    throw knownErrors.invalidAppleCredentials();
  }
  const email = identity.email ? normaliseEmail(identity.email) : undefined;
  const result = await deps.db.transaction(async (tx) => {
    const [account] = await tx
      .select({ userId: oauthAccount.projectUserId, isAnonymous: projectUser.isAnonymous })
      .from(oauthAccount)
      .innerJoin(projectUser, and(eq(projectUser.tenancyId, oauthAccount.tenancyId), eq(projectUser.projectUserId, oauthAccount.projectUserId)))
      .where(and(eq(oauthAccount.tenancyId, project.tenancyId), eq(oauthAccount.provider, 'apple'), eq(oauthAccount.providerAccountId, identity.sub)));
    if (account) return issueTokens(deps, project, { id: account.userId, isAnonymous: account.isAnonymous }, tx);

    // Linking by email only when Apple vouches for it and the project allows it: otherwise anyone
    // who registers an address at Apple could take over the account that uses it here.
    const owner = email && identity.emailVerified ? await findUserByAuthEmail(tx, project.tenancyId, email) : undefined;
    let userId: string;
    if (owner && linkOAuthByVerifiedEmail && owner.isVerified) {
      userId = owner.userId;
    } else if (email && identity.emailVerified && !owner) {
      userId = await createOrUpgradeEmailUser(tx, project.tenancyId, { email, verified: true });
    } else {
      // No usable email (or one that belongs to someone else): a user without a sign-in email.
      userId = randomUUID();
      await tx.insert(projectUser).values({ tenancyId: project.tenancyId, projectUserId: userId });
    }
    await tx.insert(oauthAccount).values({ tenancyId: project.tenancyId, provider: 'apple', providerAccountId: identity.sub, projectUserId: userId, email: email ?? null });
    return issueTokens(deps, project, { id: userId, isAnonymous: false }, tx);
  });
  return c.json(result);
});
