import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { and, eq, isNull } from 'drizzle-orm';
import { authSession, refreshToken } from '../../schema/auth-tables';
import { knownErrors } from '../api-error';
import type { Database } from '../api-env';
import { recordAnalyticsEvent } from '../analytics/events';

type Transaction = Parameters<Parameters<Database['transaction']>[0]>[0];

function hashToken(token: string): string {
  return createHash('sha256').update(token).digest('hex');
}

function newRefreshToken(): string {
  return `rt_${randomBytes(32).toString('base64url')}`;
}

async function insertRefreshToken(tx: Transaction | Database, sessionId: string, ttlDays: number): Promise<string> {
  const token = newRefreshToken();
  await tx.insert(refreshToken).values({
    id: randomUUID(),
    sessionId,
    tokenHash: hashToken(token),
    expiresAt: new Date(Date.now() + ttlDays * 86_400_000),
  });
  return token;
}

/** Starts a session for a user and returns its id and first refresh token. */
export async function createSession(
  db: Transaction | Database,
  tenancyId: string,
  userId: string,
  ttlDays: number,
): Promise<{ sessionId: string; refreshToken: string }> {
  const sessionId = randomUUID();
  await db.insert(authSession).values({ id: sessionId, tenancyId, projectUserId: userId });
  return { sessionId, refreshToken: await insertRefreshToken(db, sessionId, ttlDays) };
}

/**
 * Exchanges a refresh token for the next one. Each token works once: presenting a used token again
 * means it was copied, so the whole session (every token of it, and its access tokens) is revoked.
 */
export async function rotateRefreshToken(
  db: Database,
  project: { id: string; tenancyId: string },
  presented: string,
  ttlDays: number,
): Promise<{ sessionId: string; userId: string; refreshToken: string }> {
  const outcome = await db.transaction(async (tx) => {
    const [row] = await tx
      .select({ token: refreshToken, session: authSession })
      .from(refreshToken)
      .innerJoin(authSession, eq(authSession.id, refreshToken.sessionId))
      .where(eq(refreshToken.tokenHash, hashToken(presented)))
      .for('update');
    if (!row || row.session.tenancyId !== project.tenancyId || row.session.revokedAt) return { kind: 'not-found' as const };
    if (row.token.usedAt) {
      await tx.update(authSession).set({ revokedAt: new Date(), revokedReason: 'refresh token reuse' }).where(eq(authSession.id, row.session.id));
      return { kind: 'reused' as const };
    }
    if (row.token.expiresAt.getTime() <= Date.now()) return { kind: 'not-found' as const };
    await tx.update(refreshToken).set({ usedAt: new Date() }).where(eq(refreshToken.id, row.token.id));
    const next = await insertRefreshToken(tx, row.session.id, ttlDays);
    await recordAnalyticsEvent(tx, { projectId: project.id, tenancyId: project.tenancyId, userId: row.session.projectUserId }, {
      type: 'token_refresh',
      data: { session_id: row.session.id },
    });
    return { kind: 'rotated' as const, sessionId: row.session.id, userId: row.session.projectUserId, refreshToken: next };
  });
  // The revocation above is committed before the error is raised.
  if (outcome.kind === 'reused') throw knownErrors.refreshTokenReused();
  if (outcome.kind === 'not-found') throw knownErrors.refreshTokenNotFoundOrExpired();
  return outcome;
}

export async function revokeSession(db: Database, sessionId: string, reason: string): Promise<void> {
  await db.update(authSession).set({ revokedAt: new Date(), revokedReason: reason }).where(eq(authSession.id, sessionId));
}

export async function isSessionActive(db: Database, sessionId: string, tenancyId: string, userId: string): Promise<boolean> {
  const [row] = await db.select({ revokedAt: authSession.revokedAt, tenancyId: authSession.tenancyId, userId: authSession.projectUserId }).from(authSession).where(eq(authSession.id, sessionId));
  return row !== undefined && row.revokedAt === null && row.tenancyId === tenancyId && row.userId === userId;
}

/**
 * Revokes every live session of a user (their refresh tokens and, through the session check,
 * their access tokens): used when the account loses a sign-in address to someone who proved or
 * claimed it, since any of those sessions may have been opened with it.
 */
export async function revokeUserSessions(tx: Transaction | Database, tenancyId: string, userId: string, reason: string): Promise<void> {
  await tx
    .update(authSession)
    .set({ revokedAt: new Date(), revokedReason: reason })
    .where(and(eq(authSession.tenancyId, tenancyId), eq(authSession.projectUserId, userId), isNull(authSession.revokedAt)));
}
