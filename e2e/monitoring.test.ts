import { randomBytes } from 'node:crypto';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { ensurePrometheus, prometheusUrl, stopPrometheus, type PrometheusSpec } from '../infra/prometheus';
import { waitFor } from '../infra/wait-for';
import { migrateInternalDatabase } from '../schema/migrate';
import { alertRules, dashboardQueries, substituteVariables } from './harness/monitoring-files';
import { expectConverged } from './harness/oracle';
import { PartProcess } from './harness/part-process';
import { PipelineContext } from './harness/pipeline-context';
import { unusedPort } from './harness/private-broker';
import { PrivateCluster } from './harness/private-cluster';
import { vectorSelectors, withoutThresholds } from './harness/promql';
import { ownSecrets } from './harness/test-services';

const queryResponse = z.discriminatedUnion('status', [
  z.object({ status: z.literal('success'), data: z.object({ resultType: z.string(), result: z.array(z.unknown()) }) }),
  z.object({ status: z.literal('error'), errorType: z.string(), error: z.string() }),
]);

/** One instant query through Prometheus's HTTP API; a PromQL error fails the test at once. */
async function query(baseUrl: string, expr: string): Promise<unknown[]> {
  const response = await fetch(`${baseUrl}/api/v1/query`, { method: 'POST', body: new URLSearchParams({ query: expr }) });
  const body = queryResponse.parse(await response.json());
  if (body.status === 'error') throw new Error(`PromQL error for ${expr}: ${body.errorType}: ${body.error}`);
  return body.data.result;
}

const rulesResponse = z.object({
  data: z.object({ groups: z.array(z.object({ rules: z.array(z.object({ name: z.string(), health: z.string(), lastError: z.string().optional() })) })) }),
});
const targetsResponse = z.object({ data: z.object({ activeTargets: z.array(z.object({ labels: z.record(z.string(), z.string()), health: z.string(), lastError: z.string() })) }) });

describe('monitoring against a running system', () => {
  // Why: the dashboards and alerts are only worth deploying if every query finds the series the
  // code exports under the names it uses. This runs the real Prometheus (Debian's package, as
  // `STACK_SYNC_PROMETHEUS=1 npm start` does) scraping api, cdc and sink processes while a workload
  // goes through them, then evaluates every panel and alert read from the deployable files.
  it('every dashboard panel returns series and every alert evaluates over series that exist', { timeout: 300_000 }, async () => {
    // A cluster of its own: the safe-WAL gauge exists only with max_slot_wal_keep_size, which must
    // not be set on the shared test cluster (other tests' slots would be at risk).
    await using cluster = await PrivateCluster.create({ max_slot_wal_keep_size: '1GB' });
    await cluster.start();
    await migrateInternalDatabase(cluster.url());
    await using ctx = PipelineContext.onInternalDatabase(cluster.url(), ownSecrets());
    const project = await ctx.createProject();
    const external = await ctx.createExternalDatabase();
    // A database no server listens on: its failed attempts are what the error panels and the
    // errors alert count, beside a healthy one.
    const deadPort = await unusedPort();
    await ctx.setExternalDatabases(project, { main: external, broken: `postgres://tenant:tenant@127.0.0.1:${deadPort}/tenant` });

    const metricsToken = randomBytes(24).toString('base64url');
    const [apiPort, apiMetricsPort, cdcMetricsPort, sinkMetricsPort] = [await unusedPort(), await unusedPort(), await unusedPort(), await unusedPort()];
    const part = (name: 'api' | 'cdc' | 'sink', metricsPort: number, env: Record<string, string> = {}) =>
      new PartProcess(name, ctx.config, `stack-sync-${name}`, [], { env: { METRICS_PORT: String(metricsPort), METRICS_TOKEN: metricsToken, ...env } });
    const parts = [part('cdc', cdcMetricsPort), part('sink', sinkMetricsPort), part('api', apiMetricsPort, { API_PORT: String(apiPort) })];

    const dataDir = await fs.mkdtemp(path.join(os.tmpdir(), 'stack-sync-prometheus-'));
    // Prometheus runs as the unprivileged service user when tests run as root: it must reach its directory.
    await fs.chmod(dataDir, 0o755);
    const prometheus: PrometheusSpec = {
      dataDir,
      port: await unusedPort(),
      intervalSeconds: 1,
      targets: [
        { address: `127.0.0.1:${apiMetricsPort}`, part: 'api' },
        { address: `127.0.0.1:${cdcMetricsPort}`, part: 'cdc' },
        { address: `127.0.0.1:${sinkMetricsPort}`, part: 'sink' },
      ],
      metricsToken,
    };
    const baseUrl = prometheusUrl(prometheus);
    try {
      for (const each of parts) each.start();
      await ensurePrometheus(prometheus);
      await waitFor(
        'Prometheus to scrape api, cdc and sink (with the bearer token)',
        async () => {
          const targets = targetsResponse.parse(await (await fetch(`${baseUrl}/api/v1/targets`)).json()).data.activeTargets;
          return targets.length === 3 && targets.every((target) => target.health === 'up');
        },
        { timeoutMs: 90_000, intervalMs: 500 },
      );

      // The workload: sign-ups through the api process's HTTP API, a bulk import, updates and deletes.
      const apiUrl = `http://127.0.0.1:${apiPort}/api/v1/users`;
      const headers = { 'content-type': 'application/json', 'x-stack-project-id': project.id, 'x-stack-access-type': 'server', 'x-stack-secret-server-key': project.secretServerKey };
      await waitFor('the api process to take requests', async () => (await fetch(apiUrl, { method: 'POST', headers, body: JSON.stringify({ display_name: 'first' }) })).status === 201, {
        timeoutMs: 60_000,
        intervalMs: 300,
      });
      for (let n = 0; n < 20; n++) {
        const response = await fetch(apiUrl, { method: 'POST', headers, body: JSON.stringify({ primary_email: `user${n}@example.com`, display_name: `user ${n}` }) });
        expect(response.status).toBe(201);
      }
      await ctx.insertUsers(project.tenancyId, 300, 'bulk');
      await ctx.internal.query(`UPDATE "ProjectUser" SET "displayName" = "displayName" || ' (renamed)' WHERE "tenancyId" = $1 AND "displayName" LIKE 'bulk1%'`, [project.tenancyId]);
      await ctx.internal.query(`DELETE FROM "ProjectUser" WHERE "tenancyId" = $1 AND "displayName" LIKE 'bulk2%'`, [project.tenancyId]);
      await expectConverged(ctx.internal, project.tenancyId, external, 90_000);

      // Every panel, read from the dashboard files, with its variables as Grafana substitutes them.
      const variables = { tenancy: project.tenancyId, __rate_interval: '1m' };
      const panels = dashboardQueries().map((panel) => ({ where: `panel "${panel.dashboard} / ${panel.panel}" (${panel.refId})`, expr: substituteVariables(panel.expr, variables) }));
      // Every alert: the whole expression must evaluate (it may rightly be empty: nothing is wrong),
      // and, since an empty result would also hide a misspelt metric, each vector selector in it
      // and the expression with its thresholds removed must return series.
      const alerts = alertRules();
      const mustReturnSeries = [
        ...panels,
        ...alerts.flatMap((rule) => [
          ...vectorSelectors(rule.expr).map((selector) => ({ where: `alert ${rule.alert}, selector`, expr: selector })),
          ...withoutThresholds(rule.expr).map((part) => ({ where: `alert ${rule.alert}, without its threshold`, expr: part })),
        ]),
      ];
      expect(panels.length).toBeGreaterThan(20);
      const empty = new Set(mustReturnSeries.map((each) => `${each.where}: ${each.expr}`));
      await waitFor(
        'every panel and alert query to return series',
        async () => {
          for (const each of mustReturnSeries) {
            const key = `${each.where}: ${each.expr}`;
            if (empty.has(key) && (await query(baseUrl, each.expr)).length > 0) empty.delete(key);
          }
          return empty.size === 0;
        },
        { timeoutMs: 90_000, intervalMs: 1_000 },
      ).catch((error: unknown) => {
        throw new Error(`${error instanceof Error ? error.message : String(error)}\nstill empty:\n${[...empty].join('\n')}`);
      });
      for (const rule of alerts) await query(baseUrl, rule.expr);

      // Prometheus loaded the very rules file and evaluates each rule without error.
      const loaded = rulesResponse.parse(await (await fetch(`${baseUrl}/api/v1/rules`)).json()).data.groups.flatMap((group) => group.rules);
      expect(loaded.map((rule) => rule.name).sort()).toEqual(alerts.map((rule) => rule.alert).sort());
      await waitFor('every rule to have been evaluated without error', async () => {
        const rules = rulesResponse.parse(await (await fetch(`${baseUrl}/api/v1/rules`)).json()).data.groups.flatMap((group) => group.rules);
        return rules.every((rule) => rule.health === 'ok');
      }, { timeoutMs: 30_000, intervalMs: 500 });
      // The healthy database is caught up, so its lag alert's expression holds nothing for it.
      const lagging = await query(baseUrl, `max by (tenancy, database) (sink_database_lag_seconds{tenancy="${project.tenancyId}", database="main"}) > 60`);
      expect(lagging).toEqual([]);
    } finally {
      await stopPrometheus(prometheus).catch(() => undefined);
      await Promise.all(parts.map((each) => each.stop()));
      await fs.rm(dataDir, { recursive: true, force: true });
    }
  });
});
