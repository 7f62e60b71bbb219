import { setTimeout as delay } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { waitFor } from '../infra/wait-for';
import { migrateInternalDatabase } from '../schema/migrate';
import { expectConverged } from './harness/oracle';
import { PipelineContext } from './harness/pipeline-context';
import { ownSecrets } from './harness/test-services';
import { PrivateCluster } from './harness/private-cluster';

describe('the internal Postgres restarts under load', () => {
  // `pg_ctl stop -m immediate` is a crash to every client: the reader's replication connection, the
  // API's pool and the sink's config polls are all cut mid-query, and the server runs recovery.
  it('the API answers 503 DATABASE_UNAVAILABLE while it is down, recovers by itself, and the reader loses nothing', { timeout: 360_000 }, async () => {
    await using cluster = await PrivateCluster.create();
    await cluster.start();
    await migrateInternalDatabase(cluster.url());
    await using ctx = PipelineContext.onInternalDatabase(cluster.url(), ownSecrets());
    await ctx.startPipeline();
    const project = await ctx.createProject();
    const external = await ctx.createExternalDatabase();
    await ctx.setExternalDatabases(project, { main: external });

    const answers: { phase: string; status: number; code: string | undefined }[] = [];
    let phase = 'before';
    let writing = true;
    const workload = (async () => {
      for (let n = 0; writing; n++) {
        const response = await ctx.as(project, 'server', 'POST', '/api/v1/users', { display_name: `user-${n}` });
        answers.push({ phase, status: response.status, code: typeof response.body.code === 'string' ? response.body.code : undefined });
        // Paced like a trickle of sign-ups, so the outage spans many requests.
        await delay(25);
      }
    })();
    const created = (inPhase: string) => answers.filter((answer) => answer.phase === inPhase && answer.status === 201).length;
    try {
      await waitFor('writes before the crash', async () => created('before') >= 20, { timeoutMs: 30_000 });
      phase = 'down';
      await cluster.crash();
      await waitFor('the API to say the database is unavailable', async () => answers.filter((a) => a.phase === 'down' && a.code === 'DATABASE_UNAVAILABLE').length >= 5, { timeoutMs: 30_000 });
      await cluster.start();
      phase = 'after';
      await waitFor('the API to take writes again by itself', async () => created('after') >= 20, { timeoutMs: 60_000 });
    } finally {
      writing = false;
      await workload;
    }

    // Every answer was a success or the known 503: no 500, no hang (the workload finished).
    const unexpected = answers.filter((answer) => answer.status !== 201 && !(answer.status === 503 && answer.code === 'DATABASE_UNAVAILABLE'));
    expect(unexpected).toEqual([]);
    // Whatever was committed, before, during (a request cut mid-commit) or after, reaches the
    // external database: the reader resumed from its slot's confirmed position.
    await expectConverged(ctx.internal, project.tenancyId, external, 90_000);
    const users = await ctx.internal.query(`SELECT count(*)::int AS n FROM "ProjectUser" WHERE "tenancyId" = $1`, [project.tenancyId]);
    expect(users.rows[0].n).toBeGreaterThanOrEqual(created('before') + created('after'));
  });
});
