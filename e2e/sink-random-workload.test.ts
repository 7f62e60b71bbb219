import { describe, expect, it } from 'vitest';
import { expectConverged } from './harness/oracle';
import { PipelineContext } from './harness/pipeline-context';
import { SeededRandom } from './harness/seeded-random';
import { UserWorkload } from './harness/workload';

/**
 * The choice of operations is reproducible from the seed; how concurrent writers interleave is not,
 * which is the point: every interleaving must converge. A failing seed is printed in the message.
 */
const seeds = [1, 7_919, 104_729];

describe('convergence under a randomized workload', () => {
  it.each(seeds)('seed %i: several tenancies, concurrent transactions and rollbacks end equal to the oracle', async (seed) => {
    await using ctx = await PipelineContext.open();
    await ctx.startPipeline();
    const projects = [await ctx.createProject('one'), await ctx.createProject('two'), await ctx.createProject('three')];
    const databases: string[] = [];
    for (const project of projects) {
      const url = await ctx.createExternalDatabase();
      databases.push(url);
      await ctx.setExternalDatabases(project, { main: url });
    }
    const workload = new UserWorkload(
      ctx.internal,
      projects.map((project) => project.tenancyId),
      new SeededRandom(seed),
    );
    // The sink goes away for part of the run, so some changes pile up and arrive late.
    await workload.run(3, () => workload.committed < 150);
    await ctx.stopSink();
    await workload.run(3, () => workload.committed < 300);
    await ctx.startSink();
    await workload.run(3, () => workload.committed < 450);
    expect(workload.rolledBack).toBeGreaterThan(0);
    for (const [index, project] of projects.entries()) {
      await expectConverged(ctx.internal, project.tenancyId, databases[index]!, 60_000).catch((error: unknown) => {
        throw new Error(`seed ${seed}, tenancy ${index}: ${error instanceof Error ? error.message : String(error)}`);
      });
    }
  });
});
