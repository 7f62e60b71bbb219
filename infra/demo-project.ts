import { existsSync } from 'node:fs';
import fs from 'node:fs/promises';
import path from 'node:path';
import { z } from 'zod';
import type { Hono } from 'hono';
import type { ApiEnv } from '../api/api-env';
import { ensureDatabase } from './postgres-cluster';

const demoProjectSchema = z.object({
  id: z.string(),
  tenancy_id: z.string(),
  publishable_client_key: z.string(),
  secret_server_key: z.string(),
  super_secret_admin_key: z.string(),
  external_database_url: z.string(),
});

export type DemoProject = z.infer<typeof demoProjectSchema>;

/**
 * The ready-made project `npm start` prints: created once through the API itself (so it is a
 * project like any other), with one external database on the local external cluster. Its keys are
 * kept in the git-ignored data directory so that every start shows the same ones.
 */
export async function ensureDemoProject(app: Hono<ApiEnv>, options: { dataDir: string; internalAdminKey: string; externalAdminUrl: string }): Promise<DemoProject> {
  const file = path.join(options.dataDir, 'demo-project.json');
  if (existsSync(file)) {
    const saved = demoProjectSchema.safeParse(JSON.parse(await fs.readFile(file, 'utf8')));
    if (saved.success) {
      const check = await app.request('/api/v1/internal/projects/current', {
        headers: {
          'x-stack-project-id': saved.data.id,
          'x-stack-access-type': 'admin',
          'x-stack-super-secret-admin-key': saved.data.super_secret_admin_key,
        },
      });
      if (check.ok) return saved.data;
    }
  }
  const created = await app.request('/api/v1/internal/projects', {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-stack-internal-admin-key': options.internalAdminKey },
    body: JSON.stringify({ display_name: 'Demo project' }),
  });
  if (!created.ok) throw new Error(`could not create the demo project: ${created.status} ${await created.text()}`);
  const project = z
    .object({ id: z.string(), tenancy_id: z.string(), publishable_client_key: z.string(), secret_server_key: z.string(), super_secret_admin_key: z.string() })
    .parse(await created.json());
  await ensureDatabase(options.externalAdminUrl, 'tenant_demo');
  const externalUrl = new URL(options.externalAdminUrl);
  externalUrl.pathname = '/tenant_demo';
  const configured = await app.request('/api/v1/internal/config', {
    method: 'PATCH',
    headers: {
      'content-type': 'application/json',
      'x-stack-project-id': project.id,
      'x-stack-access-type': 'admin',
      'x-stack-super-secret-admin-key': project.super_secret_admin_key,
    },
    body: JSON.stringify({ db_sync: { external_databases: { main: { type: 'postgres', connection_string: externalUrl.toString() } } } }),
  });
  if (!configured.ok) throw new Error(`could not configure the demo project: ${configured.status} ${await configured.text()}`);
  const demo: DemoProject = { ...project, external_database_url: externalUrl.toString() };
  await fs.mkdir(options.dataDir, { recursive: true });
  await fs.writeFile(file, JSON.stringify(demo, null, 2), { mode: 0o600 });
  return demo;
}
