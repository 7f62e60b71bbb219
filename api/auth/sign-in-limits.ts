import type { Context } from 'hono';
import { knownErrors } from '../api-error';
import type { ApiEnv } from '../api-env';
import { clientIp } from './client-ip';

/**
 * Counts a sign-in attempt against the caller's IP and the email it names, and refuses it with 429
 * once either is over its limit for the window (guessing passwords or codes gets slow).
 */
export function countSignInAttempt(c: Context<ApiEnv>, email: string): void {
  const { rateLimiter, auth } = c.get('deps');
  const project = c.get('project');
  const keys: [string, number][] = [
    [`sign-in:ip:${project.id}:${clientIp(c)}`, auth.signInLimitPerIp],
    [`sign-in:email:${project.id}:${email}`, auth.signInLimitPerEmail],
  ];
  const retryAfter = Math.max(...keys.map(([key, limit]) => rateLimiter.retryAfterSeconds(key, limit)));
  if (retryAfter > 0) throw knownErrors.rateLimited(retryAfter);
  for (const [key] of keys) rateLimiter.hit(key, auth.signInWindowMs);
}
