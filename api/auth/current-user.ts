import type { Context, MiddlewareHandler } from 'hono';
import { getCookie } from 'hono/cookie';
import { knownErrors } from '../api-error';
import type { ApiEnv, CurrentUser } from '../api-env';
import { InvalidAccessTokenError, verifyAccessToken } from './access-token';
import { isSessionActive } from './sessions';

/** The cookie a browser client may carry the access token in. */
export const accessTokenCookie = 'stack-access';

/** An explicit `x-stack-access-token` header wins over the cookie: the caller chose it on purpose. */
function presentedAccessToken(c: Context<ApiEnv>): string | undefined {
  return c.req.header('x-stack-access-token') ?? getCookie(c, accessTokenCookie);
}

/** Verifies the access token (if any) for the authenticated project; rejects tokens of dead sessions. */
export async function readCurrentUser(c: Context<ApiEnv>): Promise<CurrentUser | undefined> {
  const token = presentedAccessToken(c);
  if (token === undefined || token === '') return undefined;
  const { db, signingKeys, auth } = c.get('deps');
  const project = c.get('project');
  let claims;
  try {
    claims = await verifyAccessToken(signingKeys, auth.apiUrl, project.id, token);
  } catch (error: unknown) {
    if (error instanceof InvalidAccessTokenError && error.reason === 'expired') throw knownErrors.accessTokenExpired();
    throw knownErrors.invalidAccessToken();
  }
  // Signing out (or refresh-token reuse) revokes the session, and with it its unexpired tokens.
  if (!(await isSessionActive(db, claims.sessionId, project.tenancyId, claims.userId))) throw knownErrors.sessionRevoked();
  return { id: claims.userId, sessionId: claims.sessionId, isAnonymous: claims.isAnonymous };
}

/** Admits only requests of a signed-in user; runs after requireAccess. */
export function requireUser(): MiddlewareHandler<ApiEnv> {
  return async (c, next) => {
    const user = await readCurrentUser(c);
    if (!user) throw knownErrors.userAuthenticationRequired();
    c.set('user', user);
    await next();
  };
}
