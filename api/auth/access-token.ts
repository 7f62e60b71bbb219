import { createLocalJWKSet, errors, jwtVerify, SignJWT } from 'jose';
import { z } from 'zod';
import type { SigningKeys } from './signing-keys';

/** What an access token says, once verified. */
export interface AccessTokenClaims {
  projectId: string;
  userId: string;
  sessionId: string;
  isAnonymous: boolean;
}

const claimsSchema = z.object({
  sub: z.uuid(),
  sid: z.uuid(),
  is_anonymous: z.boolean(),
});

export function issuerFor(apiUrl: string, projectId: string): string {
  return `${apiUrl.replace(/\/$/, '')}/api/v1/projects/${projectId}`;
}

/** Signs ES256 access tokens: `iss` = the project's issuer URL, `aud` = project id, `sub` = user id. */
export async function signAccessToken(
  keys: SigningKeys,
  options: { apiUrl: string; ttlSeconds: number },
  claims: AccessTokenClaims,
): Promise<string> {
  const key = await keys.active(claims.projectId);
  return new SignJWT({ sid: claims.sessionId, is_anonymous: claims.isAnonymous, role: 'authenticated' })
    .setProtectedHeader({ alg: 'ES256', kid: key.kid, typ: 'JWT' })
    .setIssuer(issuerFor(options.apiUrl, claims.projectId))
    .setAudience(claims.projectId)
    .setSubject(claims.userId)
    .setIssuedAt()
    .setExpirationTime(`${options.ttlSeconds}s`)
    .sign(key.privateKey);
}

export class InvalidAccessTokenError extends Error {
  constructor(
    readonly reason: 'expired' | 'invalid',
    message: string,
  ) {
    super(message);
  }
}

/**
 * Verifies a token for `projectId` against that project's JWKS only: ES256 alone (so `alg: none`
 * and HS256 signed with the public key fail), the project's issuer and audience, an unexpired `exp`.
 */
export async function verifyAccessToken(keys: SigningKeys, apiUrl: string, projectId: string, token: string): Promise<AccessTokenClaims> {
  const options = { algorithms: ['ES256'], issuer: issuerFor(apiUrl, projectId), audience: projectId, requiredClaims: ['exp', 'sub', 'iat'] };
  try {
    let verified;
    try {
      verified = await jwtVerify(token, createLocalJWKSet(await keys.verificationJwks(projectId)), options);
    } catch (error: unknown) {
      // A kid the cached keys lack may be a key rotated in since: look once more, uncached.
      if (!(error instanceof errors.JWKSNoMatchingKey)) throw error;
      verified = await jwtVerify(token, createLocalJWKSet(await keys.verificationJwks(projectId, true)), options);
    }
    const { payload } = verified;
    const claims = claimsSchema.parse(payload);
    return { projectId, userId: claims.sub, sessionId: claims.sid, isAnonymous: claims.is_anonymous };
  } catch (error: unknown) {
    if (error instanceof errors.JWTExpired) throw new InvalidAccessTokenError('expired', 'The access token has expired.');
    throw new InvalidAccessTokenError('invalid', 'The access token is not valid for this project.');
  }
}
