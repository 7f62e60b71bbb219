import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { collectDefaultMetrics, Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { CdcMetrics } from '../cdc/metrics';
import { registerReaderStateMetric } from '../cdc/reader-state-metric';
import { SinkMetrics } from '../sinks/metrics';
import { alertRules, dashboardQueries, dashboardsDir, readDashboards, substituteVariables } from '../e2e/harness/monitoring-files';
import { hasSyntaxError, vectorSelectors } from '../e2e/harness/promql';
import { repoRoot } from './local-settings';
import { ensurePrometheusInstalled, monitoringDir, writePrometheusFiles } from './prometheus';

const prometheusDir = path.join(monitoringDir, 'prometheus');

function promtool(...args: string[]): { status: number | null; output: string } {
  const result = spawnSync('promtool', args, { cwd: prometheusDir, encoding: 'utf8' });
  return { status: result.status, output: `${result.stdout}${result.stderr}` };
}

/** Every series name the code registers (histograms with their _bucket/_sum/_count), plus Prometheus's `up`. */
function registeredNames(): Set<string> {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  new CdcMetrics(registry, 'slot', async () => ({ slot: 'slot', condition: 'healthy', walStatus: 'reserved', active: true, retainedBytes: 0, safeWalSizeBytes: 0 }));
  new SinkMetrics(registry);
  registerReaderStateMetric(registry, 'slot', () => 'running');
  const names = new Set(['up']);
  for (const metric of registry.getMetricsAsArray()) {
    names.add(metric.name);
    for (const suffix of ['_bucket', '_sum', '_count']) names.add(`${metric.name}${suffix}`);
  }
  return names;
}

function metricName(selector: string): string {
  return /^[a-zA-Z_:][a-zA-Z0-9_:]*/.exec(selector)?.[0] ?? selector;
}

const composeSchema = z.object({
  services: z.record(z.string(), z.object({ volumes: z.array(z.string()).optional(), secrets: z.array(z.string()).optional() })),
  secrets: z.record(z.string(), z.object({ environment: z.string() })),
});

describe('monitoring files (infra/monitoring)', () => {
  let scratch: string;
  beforeAll(() => {
    ensurePrometheusInstalled();
    scratch = mkdtempSync(path.join(os.tmpdir(), 'stack-sync-promtool-'));
  });
  afterAll(() => rmSync(scratch, { recursive: true, force: true }));

  it('promtool: the alert rules are valid and their unit tests pass (slot lost fires; lag above 60 s fires and clears)', () => {
    const check = promtool('check', 'rules', 'alerts.yml');
    expect(check.output).toContain('SUCCESS');
    expect(check.status).toBe(0);
    const test = promtool('test', 'rules', 'alerts.test.yml');
    expect(test.output).toContain('SUCCESS');
    expect(test.status).toBe(0);
  });

  it('promtool: the compose scrape config is valid, and so is the local one with the rules loaded', async () => {
    // The compose config reads the token from a secret file that exists only inside the container.
    const compose = promtool('check', 'config', '--syntax-only', 'prometheus.yml');
    expect(compose.output).toContain('SUCCESS');
    expect(compose.status).toBe(0);
    const configFile = await writePrometheusFiles({ dataDir: scratch, port: 9, intervalSeconds: 1, targets: [{ address: '127.0.0.1:9464', part: 'all' }], metricsToken: 'a-token-of-sixteen-chars' });
    const local = spawnSync('promtool', ['check', 'config', configFile], { encoding: 'utf8' });
    expect(`${local.stdout}${local.stderr}`).toContain('SUCCESS: 11 rules found');
    expect(local.status).toBe(0);
  });

  it('every panel and alert expression parses, and uses only series the code registers', () => {
    const names = registeredNames();
    // Panels as Grafana sends them: variables substituted (`$__rate_interval` is no PromQL).
    const variables = { tenancy: '00000000-0000-4000-8000-000000000000', __rate_interval: '1m' };
    const expressions = [
      ...dashboardQueries().map((query) => ({ where: `${query.dashboard} / ${query.panel}`, expr: substituteVariables(query.expr, variables) })), ...alertRules().map((rule) => ({ where: rule.alert, expr: rule.expr }))];
    expect(expressions.length).toBeGreaterThan(25);
    const problems: string[] = [];
    for (const { where, expr } of expressions) {
      if (hasSyntaxError(expr)) problems.push(`${where}: syntax error in ${expr}`);
      for (const selector of vectorSelectors(expr)) {
        if (!names.has(metricName(selector))) problems.push(`${where}: ${metricName(selector)} is not registered by the code`);
      }
    }
    expect(problems).toEqual([]);
  });

  it('the dashboards: an overview and a per-tenancy one with a `tenancy` variable', () => {
    const dashboards = readDashboards();
    expect(dashboards.map((dashboard) => dashboard.uid).sort()).toEqual(['stack-sync-overview', 'stack-sync-tenancy']);
    const tenancy = dashboards.find((dashboard) => dashboard.uid === 'stack-sync-tenancy')!;
    expect(tenancy.templating.list.map((variable) => variable.name)).toContain('tenancy');
    for (const query of dashboardQueries([tenancy])) expect(query.expr, query.panel).toContain('$tenancy');
  });

  it('docker-compose.yml runs Prometheus and Grafana on exactly these files', () => {
    const compose = composeSchema.parse(parseYaml(readFileSync(path.join(repoRoot, 'docker-compose.yml'), 'utf8')));
    const mounts = (service: string): Map<string, string> => {
      const volumes = compose.services[service]?.volumes ?? [];
      const binds = volumes.filter((volume) => volume.startsWith('./')).map((volume) => volume.split(':') as [string, string, string?]);
      return new Map(binds.map(([source, target]) => [target, path.resolve(repoRoot, source)]));
    };
    const prometheus = mounts('prometheus');
    expect(prometheus.get('/etc/prometheus/prometheus.yml')).toBe(path.join(prometheusDir, 'prometheus.yml'));
    expect(prometheus.get('/etc/prometheus/alerts.yml')).toBe(path.join(prometheusDir, 'alerts.yml'));
    // prometheus.yml's rule file, resolved inside the container, is the mounted alerts.yml.
    const config = z.object({ rule_files: z.array(z.string()) }).parse(parseYaml(readFileSync(path.join(prometheusDir, 'prometheus.yml'), 'utf8')));
    expect(config.rule_files.map((file) => path.posix.resolve('/etc/prometheus', file))).toEqual(['/etc/prometheus/alerts.yml']);
    expect(compose.services.prometheus?.secrets).toEqual(['metrics_token']);
    expect(compose.secrets.metrics_token?.environment).toBe('METRICS_TOKEN');

    const grafana = mounts('grafana');
    for (const source of grafana.values()) expect(existsSync(source), source).toBe(true);
    expect(grafana.get('/var/lib/grafana/dashboards/stack-sync')).toBe(dashboardsDir);
    // The provider reads the directory the dashboards are mounted at; the datasource is the compose service.
    const provider = z.object({ providers: z.array(z.object({ options: z.object({ path: z.string() }) })) });
    const providerDir = grafana.get('/etc/grafana/provisioning/dashboards')!;
    expect(provider.parse(parseYaml(readFileSync(path.join(providerDir, 'stack-sync.yml'), 'utf8'))).providers[0]?.options.path).toBe('/var/lib/grafana/dashboards/stack-sync');
    const datasources = z.object({ datasources: z.array(z.object({ url: z.string() })) });
    const datasourceDir = grafana.get('/etc/grafana/provisioning/datasources')!;
    expect(datasources.parse(parseYaml(readFileSync(path.join(datasourceDir, 'prometheus.yml'), 'utf8'))).datasources[0]?.url).toBe('http://prometheus:9090');
    expect(Object.keys(compose.services)).toContain('prometheus');
  });
});
