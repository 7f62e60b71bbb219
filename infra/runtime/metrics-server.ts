import { createHash, timingSafeEqual } from 'node:crypto';
import { serve, type ServerType } from '@hono/node-server';
import { Hono } from 'hono';
import type { Registry } from 'prom-client';
import { isLoopbackHost } from './local-url';

export interface MetricsServerOptions {
  port: number;
  /** Listen address (LISTEN_HOST). */
  hostname: string;
  /** METRICS_TOKEN: the bearer token `/metrics` and the detailed `/health` require. */
  token: string | undefined;
}

export interface HealthReport extends Record<string, unknown> {
  status: string;
}

function digest(value: string): Buffer {
  return createHash('sha256').update(value).digest();
}

/**
 * Whether a request may see what names tenancies, external databases and their errors (`/metrics`
 * labels, health details): with METRICS_TOKEN set, only with `Authorization: Bearer <token>`;
 * without it, only while the server listens on loopback (development).
 */
export function mayReadDetails(options: Pick<MetricsServerOptions, 'hostname' | 'token'>, authorization: string | undefined): boolean {
  if (options.token === undefined) return isLoopbackHost(options.hostname);
  const presented = /^Bearer\s+(.+)$/i.exec(authorization ?? '')?.[1];
  return presented !== undefined && timingSafeEqual(digest(presented), digest(options.token));
}

/**
 * Serves `/metrics` (Prometheus text) and `/health` on the metrics port. `/health` answers anyone
 * with the coarse status alone (`failing` and `starting` are 503); its details and `/metrics` need the token.
 */
export function serveMetrics(registry: Pick<Registry, 'metrics' | 'contentType'>, options: MetricsServerOptions, health: () => Promise<HealthReport>): Promise<ServerType> {
  const app = new Hono();
  app.get('/metrics', async (c) => {
    if (!mayReadDetails(options, c.req.header('authorization'))) {
      return c.json({ code: 'METRICS_TOKEN_REQUIRED', error: 'Send Authorization: Bearer <METRICS_TOKEN>.' }, 401, { 'www-authenticate': 'Bearer' });
    }
    return c.text(await registry.metrics(), 200, { 'content-type': registry.contentType });
  });
  app.get('/health', async (c) => {
    const report = await health();
    // Not ready while starting (waiting for Postgres or Kafka) or failing; degraded still serves.
    const status = report.status === 'failing' || report.status === 'starting' ? 503 : 200;
    return c.json(mayReadDetails(options, c.req.header('authorization')) ? report : { status: report.status }, status);
  });
  return new Promise((resolve) => {
    const server = serve({ fetch: app.fetch, port: options.port, hostname: options.hostname }, () => resolve(server));
  });
}
