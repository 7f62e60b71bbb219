import { getConnInfo } from '@hono/node-server/conninfo';
import type { Context } from 'hono';
import type { ApiEnv } from '../api-env';

/** The caller's IP for rate limits: X-Forwarded-For only behind a trusted proxy, else the socket's. */
export function clientIp(c: Context<ApiEnv>): string {
  if (c.get('deps').auth.trustProxy) {
    const forwarded = c.req.header('x-forwarded-for')?.split(',')[0]?.trim();
    if (forwarded) return forwarded;
  }
  try {
    return getConnInfo(c).remote.address ?? 'unknown';
  } catch {
    // In-process requests (app.request) have no socket.
    return 'unknown';
  }
}
