import { describe, expect, it } from 'vitest';
import { waitFor } from '../infra/wait-for';
import { expectConverged } from './harness/oracle';
import { PartProcess } from './harness/part-process';
import { processMemoryMb } from './harness/process-memory';
import { PipelineContext, type TestProject } from './harness/pipeline-context';
import { SeededRandom } from './harness/seeded-random';
import { testServices, withClient } from './harness/test-services';
import { UserWorkload } from './harness/workload';

const tenancies = 1_000;
const connectionCap = 20;
const idleCloseMs = 2_000;

/** Runs `work` over `items` with at most `width` at a time. */
async function inParallel<T, R>(items: readonly T[], width: number, work: (item: T, index: number) => Promise<R>): Promise<R[]> {
  const results: R[] = new Array<R>(items.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: width }, async () => {
      while (next < items.length) {
        const index = next++;
        results[index] = await work(items[index] as T, index);
      }
    }),
  );
  return results;
}

// A separate file run on its own (npm test runs *.solo.test.ts after the rest): it loads the
// machine for minutes, which would distort the latency assertions of other tests.
describe('many tenants on one sink process', () => {
  it(`${tenancies} tenancies with one external database each: connections under the cap, idle ones closed, memory under 500 MB, every database converges`, { timeout: 1_200_000 }, async () => {
    await using ctx = await PipelineContext.open({ SINK_MAX_CONNECTIONS: String(connectionCap), SINK_IDLE_CONNECTION_MS: String(idleCloseMs) });
    await ctx.startCdc();
    // A thousand databases on one local cluster would cost gigabytes of template copies: each
    // tenancy's external database is a schema of its own, reached through its own connection
    // string (search_path), so the sink sees 1,000 distinct databases with their own connections.
    const server = await ctx.createExternalDatabase();
    await withClient(server, (client) => client.query(Array.from({ length: tenancies }, (_, index) => `CREATE SCHEMA tenant_${index};`).join('\n')));
    const databaseOf = (index: number) => {
      const url = new URL(server);
      url.searchParams.set('options', `-c search_path=tenant_${index}`);
      return url.toString();
    };

    const projects = await inParallel(Array.from({ length: tenancies }, (_, index) => index), 16, async (index) => {
      const project = await ctx.createProject(`tenant ${index}`);
      await ctx.setExternalDatabases(project, { main: databaseOf(index) });
      return project;
    });
    await inParallel(projects, 8, (project: TestProject, index) => ctx.insertUsers(project.tenancyId, 3, `t${index}-u`));

    const applicationName = `sink-${ctx.name}`;
    const sink = new PartProcess('sink', ctx.config, applicationName);
    let peakConnections = 0;
    let sampling = true;
    const sampler = (async () => {
      while (sampling) {
        const count = await withClient(testServices().externalAdminUrl, async (client) =>
          Number((await client.query(`SELECT count(*) AS n FROM pg_stat_activity WHERE application_name = $1`, [applicationName])).rows[0].n),
        ).catch(() => 0);
        peakConnections = Math.max(peakConnections, count);
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    })();
    const startedAt = Date.now();
    sink.start();
    try {
      // Every database converges on the backlog…
      await inParallel(projects, 8, (project, index) => expectConverged(ctx.internal, project.tenancyId, databaseOf(index), 600_000));
      const backfillSeconds = (Date.now() - startedAt) / 1000;

      // …and on live changes spread over all tenancies (creates, renames, deletes, rollbacks).
      const workload = new UserWorkload(
        ctx.internal,
        projects.map((project) => project.tenancyId),
        new SeededRandom(1000),
      );
      let writing = true;
      const written = workload.run(4, () => writing);
      await waitFor('the live workload to commit 1,000 transactions', async () => workload.committed >= 1_000, { timeoutMs: 300_000 });
      writing = false;
      await written;
      await inParallel(projects, 8, (project, index) => expectConverged(ctx.internal, project.tenancyId, databaseOf(index), 300_000));

      const pid = sink.pid;
      if (pid === undefined) throw new Error(`the sink process exited:\n${sink.output}`);
      const peakRssMb = await processMemoryMb(pid, 'VmHWM');

      // Quiet now: every connection is closed once idle.
      await waitFor('idle connections to close', async () => {
        const open = await withClient(testServices().externalAdminUrl, async (client) =>
          Number((await client.query(`SELECT count(*) AS n FROM pg_stat_activity WHERE application_name = $1`, [applicationName])).rows[0].n),
        );
        return open === 0;
      }, { timeoutMs: idleCloseMs + 15_000 });

      console.log(
        JSON.stringify({ tenancies, backfill_seconds: backfillSeconds, live_transactions: workload.committed, peak_connections: peakConnections, connection_cap: connectionCap, peak_rss_mb: Math.round(peakRssMb) }),
      );
      expect(peakConnections).toBeGreaterThan(0);
      expect(peakConnections).toBeLessThanOrEqual(connectionCap);
      expect(peakRssMb).toBeLessThan(500);
    } finally {
      sampling = false;
      await sampler;
      await sink.stop();
    }
  });
});
