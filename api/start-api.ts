import { serve, type ServerType } from '@hono/node-server';
import type { Hono } from 'hono';
import pg from 'pg';
import { localUrl } from '../infra/runtime/local-url';
import type { EnvConfig } from '../schema/env-config';
import type { ApiEnv } from './api-env';
import { createApp } from './app';
import { createApiDependencies, type ApiConfig } from './dependencies';
import { survivePoolErrors } from '../infra/runtime/pg-pool-errors';

export interface RunningApi {
  app: Hono<ApiEnv>;
  url: string;
  stop(): Promise<void>;
}

/** How often expired rate-limit counters are deleted, in ms. */
const rateLimitCleanupMs = 5 * 60_000;

export function internalDatabasePool(databaseUrl: string): pg.Pool {
  // Timestamps are `timestamp without time zone` holding UTC: sessions must agree on UTC.
  // A connection (or a free one from the pool) not had within 10 s fails the request: during a
  // database crash, a connect left half-open must not hold a request, and then the pool, forever.
  return survivePoolErrors(new pg.Pool({ connectionString: databaseUrl, max: 10, connectionTimeoutMillis: 10_000, options: '-c TimeZone=UTC' }));
}

export async function startApi(
  config: ApiConfig & Pick<EnvConfig, 'DATABASE_URL' | 'API_PORT' | 'LISTEN_HOST'>,
): Promise<RunningApi> {
  const pool = internalDatabasePool(config.DATABASE_URL);
  const deps = createApiDependencies(config, pool);
  const app = createApp(deps);
  const server = await new Promise<ServerType>((resolve) => {
    const started = serve({ fetch: app.fetch, port: config.API_PORT, hostname: config.LISTEN_HOST }, () => resolve(started));
  });
  const cleanup = setInterval(() => void deps.rateLimiter.deleteExpired().catch(() => undefined), rateLimitCleanupMs);
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : config.API_PORT;
  return {
    app,
    url: localUrl(config.LISTEN_HOST, port),
    async stop() {
      clearInterval(cleanup);
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await deps.analytics.close();
      await deps.paymentProcessor.close();
      await pool.end();
    },
  };
}
