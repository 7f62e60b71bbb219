import { serve, type ServerType } from '@hono/node-server';
import { Hono } from 'hono';
import type { Registry } from 'prom-client';

/** Serves `/metrics` (Prometheus text) and `/health` on the metrics port; health `failing` answers 503. */
export function serveMetrics(registry: Registry, port: number, health: () => Promise<{ status: string } & Record<string, unknown>>): Promise<ServerType> {
  const app = new Hono();
  app.get('/metrics', async (c) => c.text(await registry.metrics(), 200, { 'content-type': registry.contentType }));
  app.get('/health', async (c) => {
    const report = await health();
    return c.json(report, report.status === 'failing' ? 503 : 200);
  });
  return new Promise((resolve) => {
    const server = serve({ fetch: app.fetch, port, hostname: '0.0.0.0' }, () => resolve(server));
  });
}
