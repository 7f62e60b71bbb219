import { execFile } from 'node:child_process';
import path from 'node:path';
import { serve, type ServerType } from '@hono/node-server';
import { describe, expect, it } from 'vitest';
import { expectConverged } from '../../e2e/harness/oracle';
import { PipelineContext, type TestProject } from '../../e2e/harness/pipeline-context';
import { repoRoot } from '../local-settings';

interface CliRun {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs `npm run ops -- …` as an operator would: its own process, talking HTTP to a listening API. */
function ops(args: string[], env: Record<string, string>): Promise<CliRun> {
  return new Promise((resolve) => {
    execFile(process.execPath, ['--import', 'tsx', path.join(repoRoot, 'infra', 'ops', 'ops-cli.ts'), ...args], { cwd: repoRoot, env: { ...process.env, ...env }, timeout: 60_000 }, (error, stdout, stderr) => {
      const code = error && typeof error.code === 'number' ? error.code : error ? 1 : 0;
      resolve({ code, stdout, stderr });
    });
  });
}

async function listen(ctx: PipelineContext): Promise<{ url: string; server: ServerType }> {
  return new Promise((resolve) => {
    const server = serve({ fetch: ctx.app.fetch, port: 0, hostname: '127.0.0.1' }, (info) => resolve({ url: `http://127.0.0.1:${info.port}`, server }));
  });
}

function credentials(url: string, project: TestProject, ctx: PipelineContext): Record<string, string> {
  return { STACK_API_URL: url, STACK_PROJECT_ID: project.id, STACK_SUPER_SECRET_ADMIN_KEY: project.superSecretAdminKey, STACK_INTERNAL_ADMIN_KEY: ctx.config.STACK_INTERNAL_ADMIN_KEY };
}

describe('operator CLI', () => {
  it('fails with a clear message and a non-zero exit', async () => {
    await using ctx = await PipelineContext.open();
    const project = await ctx.createProject();
    const { url, server } = await listen(ctx);
    try {
      const wrongKey = await ops(['status'], { ...credentials(url, project, ctx), STACK_SUPER_SECRET_ADMIN_KEY: 'not-the-key' });
      expect(wrongKey.code).toBe(1);
      expect(wrongKey.stderr).toContain('ops: INVALID_SUPER_SECRET_ADMIN_KEY');
      const unreachable = await ops(['status'], { ...credentials('http://127.0.0.1:1', project, ctx) });
      expect([unreachable.code, unreachable.stderr.includes('OPS_API_UNREACHABLE')]).toEqual([1, true]);
      const unknownDatabase = await ops(['pause', 'database', 'nope'], credentials(url, project, ctx));
      expect([unknownDatabase.code, unknownDatabase.stderr.includes('EXTERNAL_DATABASE_NOT_FOUND')]).toEqual([1, true]);
      const usage = await ops(['frobnicate'], credentials(url, project, ctx));
      expect(usage.code).toBe(2);
      expect(usage.stderr).toContain('usage: npm run ops');
    } finally {
      server.close();
    }
  });

  it('shows status, pauses and resumes, rebuilds and re-snapshots with progress', async () => {
    await using ctx = await PipelineContext.open();
    await ctx.startPipeline();
    const project = await ctx.createProject();
    const external = await ctx.createExternalDatabase();
    await ctx.setExternalDatabases(project, { main: external });
    await ctx.insertUsers(project.tenancyId, 100, 'cli-');
    await expectConverged(ctx.internal, project.tenancyId, external);
    const { url, server } = await listen(ctx);
    const env = credentials(url, project, ctx);
    try {
      const paused = await ops(['pause', 'database', 'main'], env);
      expect([paused.code, paused.stdout.trim()]).toEqual([0, 'external database main paused']);
      const status = await ops(['status'], env);
      expect(status.code).toBe(0);
      expect(status.stdout).toMatch(/main\s+│ 127\.0\.0\.1:\d+\/\w+\s+│ paused \(database\)/);
      expect(status.stdout).toContain(`topic ${ctx.config.CDC_TOPIC_PREFIX}.${project.tenancyId}, high offset `);
      expect((await ops(['resume', 'database', 'main'], env)).code).toBe(0);

      const rebuild = await ops(['rebuild', 'main'], env);
      expect(rebuild.code, rebuild.stderr).toBe(0);
      expect(rebuild.stdout).toContain('rebuild of main done');
      expect(rebuild.stderr).toMatch(/rebuild main .*\d+\/\d+ rows/);
      await expectConverged(ctx.internal, project.tenancyId, external);

      const resnapshot = await ops(['resnapshot', project.tenancyId], env);
      expect(resnapshot.code, resnapshot.stderr).toBe(0);
      expect(resnapshot.stdout).toMatch(/snapshot \d+ done/);
      expect(resnapshot.stderr).toMatch(/200\/200 rows/);

      const all = await ops(['status', '--all'], env);
      expect(all.code, all.stderr).toBe(0);
      expect(all.stdout).toContain('reader   streaming');
      expect(all.stdout).toContain(project.tenancyId);
    } finally {
      server.close();
    }
  });
});
