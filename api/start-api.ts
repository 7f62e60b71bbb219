import { serve, type ServerType } from '@hono/node-server';
import type { Hono } from 'hono';
import pg from 'pg';
import type { EnvConfig } from '../schema/env-config';
import type { TargetStatus } from '../sinks/database-sync';
import type { ApiEnv } from './api-env';
import { createApp } from './app';
import { createApiDependencies, type ApiConfig } from './dependencies';

export interface RunningApi {
  app: Hono<ApiEnv>;
  url: string;
  stop(): Promise<void>;
}

export function internalDatabasePool(databaseUrl: string): pg.Pool {
  // Timestamps are `timestamp without time zone` holding UTC: sessions must agree on UTC.
  const pool = new pg.Pool({ connectionString: databaseUrl, max: 10, options: '-c TimeZone=UTC' });
  pool.on('error', () => undefined);
  return pool;
}

export async function startApi(
  config: ApiConfig & Pick<EnvConfig, 'DATABASE_URL' | 'API_PORT'>,
  syncStatus?: () => TargetStatus[],
): Promise<RunningApi> {
  const pool = internalDatabasePool(config.DATABASE_URL);
  const app = createApp(createApiDependencies(config, pool, syncStatus));
  const server = await new Promise<ServerType>((resolve) => {
    const started = serve({ fetch: app.fetch, port: config.API_PORT, hostname: '0.0.0.0' }, () => resolve(started));
  });
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : config.API_PORT;
  return {
    app,
    url: `http://127.0.0.1:${port}`,
    async stop() {
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await pool.end();
    },
  };
}
