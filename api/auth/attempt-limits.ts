import type { Context } from 'hono';
import { knownErrors } from '../api-error';
import type { ApiEnv } from '../api-env';
import { clientIp } from './client-ip';

/**
 * Actions that name an address and answer differently for one that has an account (sign-in,
 * sign-up, sending a code, adding a sign-in channel): each is counted per client IP and per named
 * address, so neither guessing secrets nor asking which addresses have accounts is cheap.
 */
export type AttemptKind = 'sign-in' | 'sign-up' | 'contact-channel';

/**
 * Counts an attempt against the caller's IP and the address it names, and refuses it with 429 once
 * either is over its limit for the window. Counters live in Postgres, shared by all API processes.
 */
export async function countAttempt(c: Context<ApiEnv>, kind: AttemptKind, address: string): Promise<void> {
  const { rateLimiter, auth } = c.get('deps');
  const project = c.get('project');
  const windowSeconds = auth.signInWindowSeconds;
  const [byIp, byAddress] = await Promise.all([
    rateLimiter.consume({ name: `${kind}-ip`, limit: auth.signInLimitPerIp, windowSeconds }, `${project.id}:${clientIp(c)}`),
    rateLimiter.consume({ name: `${kind}-address`, limit: auth.signInLimitPerEmail, windowSeconds }, `${project.id}:${address}`),
  ]);
  const retryAfter = Math.max(byIp, byAddress);
  if (retryAfter > 0) throw knownErrors.rateLimited(retryAfter);
}
