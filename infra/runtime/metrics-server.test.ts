import type { AddressInfo } from 'node:net';
import { Gauge, Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { mayReadDetails, serveMetrics, type HealthReport } from './metrics-server';

/** /metrics and /health name tenancies, databases and their errors: only for who holds the token (issue 11, point 4). */

async function withMetricsServer(token: string | undefined, report: HealthReport, use: (url: string) => Promise<void>): Promise<void> {
  const registry = new Registry();
  new Gauge({ name: 'sink_backlog_events', help: 'x', labelNames: ['tenancy', 'database'], registers: [registry] }).set({ tenancy: 'tenancy-7f3a', database: 'billing-db' }, 3);
  const server = await serveMetrics(registry, { port: 0, hostname: '127.0.0.1', token }, async () => report);
  try {
    await use(`http://127.0.0.1:${(server.address() as AddressInfo).port}`);
  } finally {
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}

const detailed: HealthReport = {
  status: 'failing',
  part: 'all',
  external_databases: [{ tenancyId: 'tenancy-7f3a', id: 'billing-db', error: 'connect ECONNREFUSED 10.1.2.3:5432 (user billing)' }],
};

describe('metrics server', () => {
  it('with METRICS_TOKEN: /metrics and health details only for the bearer, a coarse status for everyone', async () => {
    const token = 'a-metrics-token-of-some-length';
    await withMetricsServer(token, detailed, async (url) => {
      const anonymous = await fetch(`${url}/metrics`);
      expect(anonymous.status).toBe(401);
      expect(await anonymous.text()).not.toContain('tenancy-7f3a');
      expect((await fetch(`${url}/metrics`, { headers: { authorization: 'Bearer wrong-token-of-some-length' } })).status).toBe(401);
      const scraped = await fetch(`${url}/metrics`, { headers: { authorization: `Bearer ${token}` } });
      expect(scraped.status).toBe(200);
      expect(await scraped.text()).toContain('tenancy="tenancy-7f3a"');

      const coarse = await fetch(`${url}/health`);
      expect(coarse.status).toBe(503);
      expect(await coarse.json()).toEqual({ status: 'failing' });
      const full = await fetch(`${url}/health`, { headers: { authorization: `Bearer ${token}` } });
      expect(await full.json()).toEqual(detailed);
    });
  });

  it('says 503 while starting (not ready), 200 when degraded (serving)', async () => {
    for (const [status, expected] of [['starting', 503], ['degraded', 200], ['ok', 200]] as const) {
      await withMetricsServer(undefined, { status }, async (url) => {
        expect((await fetch(`${url}/health`)).status, status).toBe(expected);
      });
    }
  });

  it('without a token: details on a loopback listener only', () => {
    expect(mayReadDetails({ hostname: '127.0.0.1', token: undefined }, undefined)).toBe(true);
    expect(mayReadDetails({ hostname: '::1', token: undefined }, undefined)).toBe(true);
    expect(mayReadDetails({ hostname: '0.0.0.0', token: undefined }, undefined)).toBe(false);
    expect(mayReadDetails({ hostname: '10.0.0.5', token: undefined }, 'Bearer anything')).toBe(false);
    expect(mayReadDetails({ hostname: '0.0.0.0', token: 'a-metrics-token-of-some-length' }, 'bearer a-metrics-token-of-some-length')).toBe(true);
  });
});
