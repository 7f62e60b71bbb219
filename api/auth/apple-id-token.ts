import { createRemoteJWKSet, jwtVerify, type JWTVerifyGetKey } from 'jose';
import { z } from 'zod';

export const appleIssuer = 'https://appleid.apple.com';

const appleClaims = z.object({
  sub: z.string().min(1),
  email: z.string().optional(),
  // Apple sends these as booleans or as the strings "true"/"false".
  email_verified: z.union([z.boolean(), z.enum(['true', 'false'])]).optional(),
});

export interface AppleIdentity {
  sub: string;
  email?: string;
  emailVerified: boolean;
}

const keySets = new Map<string, JWTVerifyGetKey>();

/** One cached remote key set per JWKS URL: jose refetches it on an unknown kid, at most every 30 s. */
function appleKeys(jwksUrl: string): JWTVerifyGetKey {
  let keys = keySets.get(jwksUrl);
  if (!keys) keySets.set(jwksUrl, (keys = createRemoteJWKSet(new URL(jwksUrl))));
  return keys;
}

/** Verifies an id token from Sign in with Apple: Apple's keys, Apple's issuer, one of our bundle ids. */
export async function verifyAppleIdToken(idToken: string, options: { jwksUrl: string; bundleIds: readonly string[] }): Promise<AppleIdentity> {
  const { payload } = await jwtVerify(idToken, appleKeys(options.jwksUrl), {
    issuer: appleIssuer,
    audience: [...options.bundleIds],
    algorithms: ['RS256', 'ES256'],
    requiredClaims: ['exp', 'iat', 'sub'],
  });
  const claims = appleClaims.parse(payload);
  return {
    sub: claims.sub,
    ...(claims.email ? { email: claims.email } : {}),
    emailVerified: claims.email_verified === true || claims.email_verified === 'true',
  };
}
