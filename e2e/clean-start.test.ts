import { describe, expect, it } from 'vitest';
import { waitFor } from '../infra/wait-for';
import { expectConverged } from './harness/oracle';
import { PartProcess } from './harness/part-process';
import { PipelineContext } from './harness/pipeline-context';
import { unusedPort } from './harness/private-broker';

/** A log line's level, or undefined for a line that is no log line at all. */
function levelOf(line: string): string | undefined {
  try {
    const parsed: unknown = JSON.parse(line);
    return typeof parsed === 'object' && parsed !== null && 'level' in parsed ? String(parsed.level) : undefined;
  } catch {
    return undefined;
  }
}

describe('a clean start', () => {
  // DESIGN.md "Operations": the broker's warm-up retries (a new consumer group's coordinator
  // still loading, a topic's leader not elected yet) are expected and logged below error level;
  // an ERROR line on a healthy start sends an operator looking for a fault that is not there.
  it('the whole system started fresh logs no error line and only JSON lines through a first sync', async () => {
    await using ctx = await PipelineContext.open();
    const [apiPort, metricsPort] = [await unusedPort(), await unusedPort()];
    const system = new PartProcess('all', ctx.config, 'stack-sync-all', [], {
      env: { API_PORT: String(apiPort), METRICS_PORT: String(metricsPort), STACK_SYNC_QUIET: '0' },
      keepOutputChars: 10_000_000,
    });
    system.start();
    try {
      await waitFor('the system to be healthy', async () => (await fetch(`${system.metricsUrl}/health`).catch(() => undefined))?.status === 200, { timeoutMs: 60_000, intervalMs: 200 });
      const project = await ctx.createProject();
      const external = await ctx.createExternalDatabase();
      await ctx.setExternalDatabases(project, { main: external });
      for (const name of ['ada', 'bob']) await ctx.createUser(project, { display_name: name, primary_email: `${name}@example.com` });
      await expectConverged(ctx.internal, project.tenancyId, external, 60_000);
      // Its own API answers over HTTP.
      const current = await fetch(`http://127.0.0.1:${apiPort}/api/v1/internal/projects/current`, {
        headers: { 'x-stack-project-id': project.id, 'x-stack-access-type': 'admin', 'x-stack-super-secret-admin-key': project.superSecretAdminKey },
      });
      expect(current.status).toBe(200);
    } finally {
      await system.stop();
    }
    const lines = system.output.split('\n').filter((line) => line.trim() !== '');
    expect(lines.length).toBeGreaterThan(0);
    expect(lines.filter((line) => levelOf(line) === undefined).slice(0, 3)).toEqual([]);
    expect(lines.filter((line) => levelOf(line) === 'error').slice(0, 5)).toEqual([]);
    expect(lines.some((line) => line.includes('"level":"info"'))).toBe(true);
  });
});
