import { Hono } from 'hono';
import { knownErrors } from '../api-error';
import type { ApiEnv } from '../api-env';
import { signAccessToken } from '../auth/access-token';
import { requireUser } from '../auth/current-user';
import { revokeSession, rotateRefreshToken } from '../auth/sessions';
import { emptyBody, parseBody } from '../parse-body';
import { requireAccess } from '../project-auth';
import { projectUser } from '../../schema/tables';
import { and, eq } from 'drizzle-orm';

export const sessionRoutes = new Hono<ApiEnv>()
  /** Rotates the refresh token: the presented one is spent, a new pair comes back. */
  .post('/auth/sessions/current/refresh', requireAccess('client', 'server'), async (c) => {
    const deps = c.get('deps');
    const project = c.get('project');
    await parseBody(c, emptyBody);
    const presented = c.req.header('x-stack-refresh-token');
    if (!presented) throw knownErrors.refreshTokenRequired();
    const rotated = await rotateRefreshToken(deps.db, project, presented, deps.auth.refreshTokenTtlDays);
    const [user] = await deps.db
      .select({ isAnonymous: projectUser.isAnonymous })
      .from(projectUser)
      .where(and(eq(projectUser.tenancyId, project.tenancyId), eq(projectUser.projectUserId, rotated.userId)));
    if (!user) throw knownErrors.refreshTokenNotFoundOrExpired();
    const accessToken = await signAccessToken(
      deps.signingKeys,
      { apiUrl: deps.auth.apiUrl, ttlSeconds: deps.auth.accessTokenTtlSeconds },
      { projectId: project.id, userId: rotated.userId, sessionId: rotated.sessionId, isAnonymous: user.isAnonymous },
    );
    return c.json({ access_token: accessToken, refresh_token: rotated.refreshToken, user_id: rotated.userId });
  })
  /** Signs out: the session and every token of it stop working. */
  .delete('/auth/sessions/current', requireAccess('client', 'server'), requireUser(), async (c) => {
    await revokeSession(c.get('deps').db, c.get('user').sessionId, 'signed out');
    return c.json({ success: true });
  });
