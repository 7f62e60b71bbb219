import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { waitFor } from '../infra/wait-for';
import { startSink, type RunningSink } from '../sinks/start-sink';
import { PipelineContext, pollExternal, type TestProject } from './harness/pipeline-context';

interface ReportedStatus {
  id: string;
  state: string;
  last_synced_sequence_id: string | null;
  reported_by: string | null;
}

async function statusOf(ctx: PipelineContext, project: TestProject): Promise<ReportedStatus> {
  const response = await ctx.as(project, 'admin', 'GET', '/api/v1/internal/db-sync/status');
  return (response.body.external_databases as ReportedStatus[])[0]!;
}

const served = (sink: RunningSink) => sink.supervisor.statuses().map((status) => `${status.tenancyId}/${status.databaseId}`);

describe('honest status across sink processes', () => {
  // Every sink process used to build a sync for every configured database, assigned to it or not,
  // and report it `running` with a stale offset.
  it('each process prepares and reports only the databases of its topics; status shows who serves what', async () => {
    await using ctx = await PipelineContext.open();
    await ctx.startPipeline();
    const first = ctx.sink!;
    const second = await startSink(ctx.config, new Registry());
    try {
      const projects = [await ctx.createProject('one'), await ctx.createProject('two')];
      const databases = [await ctx.createExternalDatabase(), await ctx.createExternalDatabase()];
      for (const [index, project] of projects.entries()) await ctx.setExternalDatabases(project, { main: databases[index]! });
      const keys = projects.map((project) => `${project.tenancyId}/main`);
      // Two topics over two members of the group: one each.
      await waitFor('the topics spread over both processes', async () => served(first).length === 1 && served(second).length === 1, { timeoutMs: 60_000, intervalMs: 100 });
      expect([...served(first), ...served(second)].sort()).toEqual([...keys].sort());
      for (const [index, project] of projects.entries()) await ctx.createUser(project, { display_name: `user-${index}` });
      for (const database of databases) await pollExternal(database, 'SELECT 1 FROM users', (rows) => rows.length === 1);

      const owner = (key: string) => (served(first).includes(key) ? first : second);
      for (const [index, project] of projects.entries()) {
        await waitFor(`the status of ${keys[index]}`, async () => {
          const status = await statusOf(ctx, project);
          return status.state === 'running' && status.last_synced_sequence_id !== '-1' && status.reported_by === owner(keys[index]!).supervisor.processId;
        }, { timeoutMs: 20_000, intervalMs: 100 });
      }

      // The second process goes away: its database moves to the first, which reports it from then on.
      const leaving = served(second)[0]!;
      const leavingProject = projects[keys.indexOf(leaving)]!;
      await second.stop();
      await waitFor('the first process to serve both', async () => served(first).length === 2, { timeoutMs: 60_000, intervalMs: 100 });
      await ctx.createUser(leavingProject, { display_name: 'after the move' });
      await pollExternal(databases[keys.indexOf(leaving)]!, 'SELECT 1 FROM users', (rows) => rows.length === 2);
      await waitFor('the status to name the first process', async () => (await statusOf(ctx, leavingProject)).reported_by === first.supervisor.processId, {
        timeoutMs: 20_000,
        intervalMs: 100,
      });
    } finally {
      await second.stop();
    }
  });

  it('merges repeated re-snapshot requests for a tenancy while one is pending', async () => {
    await using ctx = await PipelineContext.open();
    const project = await ctx.createProject();
    // No reader runs: the first request stays pending, and every later one joins it.
    const ids = await Promise.all(Array.from({ length: 10 }, () => ctx.as(project, 'admin', 'POST', '/api/v1/internal/db-sync/resnapshot', {})));
    expect(ids.map((response) => response.status)).toEqual(Array(10).fill(202));
    expect(new Set(ids.map((response) => response.body.snapshot_id)).size).toBe(1);
    const rows = await ctx.internal.query(`SELECT count(*)::int AS n FROM "CdcSnapshot" WHERE "tenancyId" = $1`, [project.tenancyId]);
    expect(rows.rows[0].n).toBe(1);
    // Another tenancy's request is its own.
    const other = await ctx.createProject('other');
    const otherId = (await ctx.as(other, 'admin', 'POST', '/api/v1/internal/db-sync/resnapshot', {})).body.snapshot_id;
    expect(otherId).not.toBe(ids[0]!.body.snapshot_id);
  });
});
