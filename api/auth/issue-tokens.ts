import type { ApiDependencies, Database, RequestProject } from '../api-env';
import { signAccessToken } from './access-token';
import { createSession } from './sessions';

type Transaction = Parameters<Parameters<Database['transaction']>[0]>[0];

export interface SignInResult {
  access_token: string;
  refresh_token: string;
  user_id: string;
}

/** Opens a session for `userId` and returns the token pair every sign-in answers with. */
export async function issueTokens(
  deps: ApiDependencies,
  project: RequestProject,
  user: { id: string; isAnonymous: boolean },
  tx?: Transaction,
): Promise<SignInResult> {
  const { sessionId, refreshToken } = await createSession(tx ?? deps.db, project.tenancyId, user.id, deps.auth.refreshTokenTtlDays);
  const accessToken = await signAccessToken(
    deps.signingKeys,
    { apiUrl: deps.auth.apiUrl, ttlSeconds: deps.auth.accessTokenTtlSeconds },
    { projectId: project.id, userId: user.id, sessionId, isAnonymous: user.isAnonymous },
  );
  return { access_token: accessToken, refresh_token: refreshToken, user_id: user.id };
}
