import { createHash, randomInt, randomUUID, timingSafeEqual } from 'node:crypto';
import { eq } from 'drizzle-orm';
import { Hono } from 'hono';
import { z } from 'zod';
import { otpCode } from '../../schema/auth-tables';
import { knownErrors } from '../api-error';
import type { ApiEnv } from '../api-env';
import { readCurrentUser } from '../auth/current-user';
import { issueTokens } from '../auth/issue-tokens';
import { isAllowedRedirect } from '../auth/redirect-urls';
import { decideCodeSignIn } from '../auth/address-claims';
import { findUserByAuthEmail, releaseUnverifiedAddress, userHasEmail, verifyEmailForUser } from '../auth/address-holders';
import { countAttempt } from '../auth/attempt-limits';
import { createOrUpgradeEmailUser } from '../auth/user-accounts';
import { normaliseEmail } from '../channel-values';
import { parseBody } from '../parse-body';
import { loadProjectConfig } from '../project-config-store';
import { requireAccess } from '../project-auth';
import { judgeSignUp, recordJudgement, refuseRejectedSignUp, restrictingRuleOf, type SignUpJudgement } from '../sign-up-rules/sign-up-gate';
import { restrictBySignUpRule } from '../auth/user-accounts';
import { recordAnalyticsEvent } from '../analytics/events';

/** A code lives 10 minutes, works once, and stops working after this many wrong tries. */
const codeLifetimeMs = 10 * 60_000;
const maxWrongAttempts = 5;

export const otpSendCodeBody = z.strictObject({
  email: z.email().max(254),
  callback_url: z.string().max(2_000).optional(),
});

export const otpSignInBody = z.strictObject({
  nonce: z.uuid(),
  code: z.string().regex(/^\d{6}$/, 'six digits'),
});

function codeHash(nonce: string, code: string): Buffer {
  return createHash('sha256').update(`${nonce}:${code}`).digest();
}

export const otpAuthRoutes = new Hono<ApiEnv>()
  /** Emails a six-digit sign-in code and answers with the nonce the sign-in must name. */
  .post('/auth/otp/send-sign-in-code', requireAccess('client', 'server'), async (c) => {
    const deps = c.get('deps');
    const project = c.get('project');
    const body = await parseBody(c, otpSendCodeBody);
    const config = await loadProjectConfig(deps.db, project.id);
    if (!config.auth.otpEnabled) throw knownErrors.otpNotEnabled();
    if (body.callback_url !== undefined && !isAllowedRedirect(body.callback_url, 'callback', config.auth)) {
      throw knownErrors.redirectUrlNotWhitelisted('callback_url');
    }
    const email = normaliseEmail(body.email);
    // Sending is rate-limited like signing in: each code is a chance to guess.
    await countAttempt(c, 'sign-in', email);
    const nonce = randomUUID();
    const code = String(randomInt(0, 1_000_000)).padStart(6, '0');
    await deps.db.insert(otpCode).values({
      id: nonce,
      tenancyId: project.tenancyId,
      email,
      codeHash: codeHash(nonce, code).toString('hex'),
      expiresAt: new Date(Date.now() + codeLifetimeMs),
    });
    await deps.emailSender.send({
      tenancyId: project.tenancyId,
      to: email,
      subject: 'Your sign-in code',
      body: `Your sign-in code is ${code}. It expires in 10 minutes.${body.callback_url ? `\n\nOr open ${body.callback_url}` : ''}`,
    });
    return c.json({ nonce });
  })
  /**
   * Signs in with a code, which proves the address (api/auth/address-claims.ts): into the account
   * where the address is verified; else into the prover's own: the signed-in account that has the
   * address (it becomes verified there), the signed-in anonymous user (upgraded) or a new user. An
   * account that merely claimed it unverified loses it and its sessions. Never into an account
   * someone else set up with it. A new user, or an anonymous one that the code upgrades, is a
   * sign-up: the project's sign-up rules judge it (a rejection rolls everything back, the code too).
   */
  .post('/auth/otp/sign-in', requireAccess('client', 'server'), async (c) => {
    const deps = c.get('deps');
    const project = c.get('project');
    const body = await parseBody(c, otpSignInBody);
    const current = await readCurrentUser(c);
    const { auth } = await loadProjectConfig(deps.db, project.id);
    // Set inside the transaction once the sign-up is judged; recorded after it, committed or not.
    let judgement: SignUpJudgement | undefined;
    const judge = (upgrade: boolean, email: string): SignUpJudgement | undefined => {
      judgement = judgeSignUp(deps.signUpRules, project.id, auth, { kind: upgrade ? 'anonymous-upgrade' : 'new-user', authMethod: 'otp', email });
      refuseRejectedSignUp(judgement);
      return judgement;
    };
    const outcome = await deps.db
      .transaction(async (tx) => {
        const [row] = await tx.select().from(otpCode).where(eq(otpCode.id, body.nonce)).for('update');
        if (!row || row.tenancyId !== project.tenancyId) throw knownErrors.verificationCodeNotFound();
        if (row.usedAt) throw knownErrors.verificationCodeAlreadyUsed();
        if (row.failedAttempts >= maxWrongAttempts) throw knownErrors.verificationCodeLocked();
        if (row.expiresAt.getTime() <= Date.now()) throw knownErrors.verificationCodeExpired();
        if (!timingSafeEqual(codeHash(body.nonce, body.code), Buffer.from(row.codeHash, 'hex'))) {
          await tx.update(otpCode).set({ failedAttempts: row.failedAttempts + 1 }).where(eq(otpCode.id, row.id));
          return { kind: 'wrong' as const };
        }
        await tx.update(otpCode).set({ usedAt: new Date() }).where(eq(otpCode.id, row.id));
        const holder = await findUserByAuthEmail(tx, project.tenancyId, row.email, true);
        const caller = current
          ? { userId: current.id, isAnonymous: current.isAnonymous, hasAddress: await userHasEmail(tx, project.tenancyId, current.id, row.email) }
          : undefined;
        const decision = decideCodeSignIn(holder, caller);
        const address = { type: 'EMAIL' as const, value: row.email };
        let signedIn: { id: string; isAnonymous: boolean };
        let signedUp = false;
        switch (decision.kind) {
          case 'sign-in-holder':
            signedIn = { id: decision.userId, isAnonymous: decision.isAnonymous };
            break;
          case 'verify-for-caller': {
            // An anonymous caller that proves an address of its own is upgraded: a sign-up too.
            const upgrade = caller?.isAnonymous ? judge(true, row.email) : undefined;
            if (decision.releaseFromUserId) await releaseUnverifiedAddress(tx, project.tenancyId, decision.releaseFromUserId, address, true);
            await verifyEmailForUser(tx, project.tenancyId, decision.userId, row.email);
            const restrictingRule = restrictingRuleOf(upgrade);
            if (restrictingRule) await restrictBySignUpRule(tx, project.tenancyId, decision.userId, restrictingRule);
            signedIn = { id: decision.userId, isAnonymous: false };
            signedUp = upgrade !== undefined;
            break;
          }
          case 'new-owner': {
            const signUp = judge(decision.upgradeUserId !== undefined, row.email);
            if (decision.releaseFromUserId) await releaseUnverifiedAddress(tx, project.tenancyId, decision.releaseFromUserId, address, true);
            const userId = await createOrUpgradeEmailUser(tx, project.tenancyId, {
              email: row.email,
              verified: true,
              ...(decision.upgradeUserId ? { upgradeUserId: decision.upgradeUserId } : {}),
              restrictedBySignUpRule: restrictingRuleOf(signUp),
            });
            signedIn = { id: userId, isAnonymous: false };
            signedUp = true;
            break;
          }
        }
        await recordAnalyticsEvent(
          tx,
          { projectId: project.id, tenancyId: project.tenancyId, userId: signedIn.id },
          signedUp
            ? {
                type: 'sign_up',
                data: { auth_method: 'otp', upgraded_from_anonymous: decision.kind === 'verify-for-caller' || (decision.kind === 'new-owner' && decision.upgradeUserId !== undefined) },
              }
            : { type: 'sign_in', data: { auth_method: 'otp' } },
        );
        return { kind: 'signed-in' as const, tokens: await issueTokens(deps, project, signedIn, tx) };
      })
      .finally(() => recordJudgement(deps.db, project, judgement));
    // The failed attempt is committed before the error is raised, so the lock counts every try.
    if (outcome.kind === 'wrong') throw knownErrors.verificationCodeInvalid();
    return c.json(outcome.tokens);
  });
