import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { alertRulesFile, monitoringDir } from '../../infra/prometheus';

/** Where the deployable dashboards live (docker-compose.yml mounts this directory into Grafana). */
export const dashboardsDir = path.join(monitoringDir, 'grafana', 'dashboards');

const targetSchema = z.object({ refId: z.string(), expr: z.string().min(1) });
interface Panel {
  title: string;
  type: string;
  targets?: z.infer<typeof targetSchema>[];
  panels?: Panel[];
}
const panelSchema: z.ZodType<Panel> = z.lazy(() =>
  z.object({ title: z.string(), type: z.string(), targets: z.array(targetSchema).optional(), panels: z.array(panelSchema).optional() }),
);
const dashboardSchema = z.object({
  uid: z.string(),
  title: z.string(),
  panels: z.array(panelSchema),
  templating: z.object({ list: z.array(z.object({ name: z.string(), type: z.string(), query: z.unknown().optional() })) }),
});
export type Dashboard = z.infer<typeof dashboardSchema>;

const rulesSchema = z.object({
  groups: z.array(
    z.object({
      name: z.string(),
      rules: z.array(z.object({ alert: z.string(), expr: z.string(), for: z.string().optional(), labels: z.record(z.string(), z.string()).optional() })),
    }),
  ),
});

export interface DashboardQuery {
  dashboard: string;
  panel: string;
  refId: string;
  expr: string;
}

export function readDashboards(): Dashboard[] {
  return readdirSync(dashboardsDir)
    .filter((file) => file.endsWith('.json'))
    .sort()
    .map((file) => dashboardSchema.parse(JSON.parse(readFileSync(path.join(dashboardsDir, file), 'utf8'))));
}

/** Every query of every panel (rows' nested panels included), straight from the dashboard files. */
export function dashboardQueries(dashboards = readDashboards()): DashboardQuery[] {
  const queries: DashboardQuery[] = [];
  const visit = (dashboard: Dashboard, panel: Panel): void => {
    for (const target of panel.targets ?? []) queries.push({ dashboard: dashboard.title, panel: panel.title, refId: target.refId, expr: target.expr });
    for (const nested of panel.panels ?? []) visit(dashboard, nested);
  };
  for (const dashboard of dashboards) for (const panel of dashboard.panels) visit(dashboard, panel);
  return queries;
}

export function alertRules(): { alert: string; expr: string }[] {
  const rules = rulesSchema.parse(parseYaml(readFileSync(alertRulesFile, 'utf8')));
  return rules.groups.flatMap((group) => group.rules.map(({ alert, expr }) => ({ alert, expr })));
}

/**
 * A panel's PromQL as Grafana sends it: template variables replaced (`$tenancy`, `${tenancy}`) and
 * `$__rate_interval` by a window that spans several scrapes.
 */
export function substituteVariables(expr: string, variables: Record<string, string>): string {
  return expr.replace(/\$\{(\w+)\}|\$(\w+)/g, (whole, braced: string | undefined, bare: string | undefined) => {
    const name = braced ?? bare ?? '';
    const value = variables[name];
    if (value === undefined) throw new Error(`no value for the dashboard variable ${whole} in ${expr}`);
    return value;
  });
}
