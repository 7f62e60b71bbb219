import { getConnInfo } from '@hono/node-server/conninfo';
import type { Context } from 'hono';
import type { ApiEnv } from '../api-env';
import { clientAddress } from './trusted-proxy';

function socketAddress(c: Context<ApiEnv>): string {
  try {
    return getConnInfo(c).remote.address ?? 'unknown';
  } catch {
    // In-process requests (app.request) have no socket.
    return 'unknown';
  }
}

/** The caller's IP for rate limits: the socket's peer, or what trusted proxies say (TRUST_PROXY). */
export function clientIp(c: Context<ApiEnv>): string {
  return clientAddress(socketAddress(c), c.req.header('x-forwarded-for'), c.get('deps').auth.trustProxy);
}
