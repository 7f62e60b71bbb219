import { setTimeout as delay } from 'node:timers/promises';
import pg from 'pg';
import { describe, expect, it } from 'vitest';
import { expectConverged } from './harness/oracle';
import { PipelineContext, pollExternal } from './harness/pipeline-context';
import { PrivateCluster } from './harness/private-cluster';
import { readAll } from './harness/topic-audit';

interface Observation {
  /** `last_synced_sequence_id` of the users mapping: the Kafka offset the rows claim to reflect. */
  offset: bigint;
  /** `id=display_name` of every row of `users`, read in the same snapshot as the offset. */
  users: string[];
}

/** The offset and the rows in one REPEATABLE READ snapshot: what any reader of the database could see together. */
async function observe(url: string): Promise<Observation | undefined> {
  const client = new pg.Client({ connectionString: url, application_name: 'observer' });
  client.on('error', () => undefined);
  try {
    await client.connect();
    await client.query('BEGIN ISOLATION LEVEL REPEATABLE READ');
    const progress = await client.query<{ offset: string }>(`SELECT last_synced_sequence_id::text AS offset FROM _stack_sync_metadata WHERE mapping_name = 'users'`);
    const users = await client.query<{ row: string }>(`SELECT id::text || '=' || coalesce(display_name, '') AS row FROM users ORDER BY 1`);
    await client.query('COMMIT');
    const offset = progress.rows[0]?.offset;
    return offset === undefined ? undefined : { offset: BigInt(offset), users: users.rows.map(({ row }) => row) };
  } catch {
    // Cut by the chaos below, or the server is restarting: no observation this time.
    return undefined;
  } finally {
    await client.end().catch(() => undefined);
  }
}

describe('an external database restarts or loses its connection mid-batch', () => {
  // The sink writes each batch and its progress in one target transaction: a connection killed
  // between two rows of it, or a server restarted under it, must roll all of it back. Checked from
  // the outside: at every instant, the rows a reader sees are exactly the topic's events replayed up
  // to the offset the progress row claims, never a part of a batch.
  it('never shows a partial batch, keeps progress consistent with the rows, catches up by itself, and neighbours keep a low lag', { timeout: 300_000 }, async () => {
    await using cluster = await PrivateCluster.create();
    await cluster.start();
    await using ctx = await PipelineContext.open();
    await ctx.startPipeline();
    const [flakyTenant, neighbour] = [await ctx.createProject('flaky'), await ctx.createProject('neighbour')];
    const flaky = cluster.url();
    const steady = await ctx.createExternalDatabase();
    await ctx.setExternalDatabases(flakyTenant, { flaky });
    await ctx.setExternalDatabases(neighbour, { steady });
    await ctx.createUser(flakyTenant, { display_name: 'warm-up' });
    await expectConverged(ctx.internal, flakyTenant.tenancyId, flaky);

    const observations: Observation[] = [];
    const neighbourLagMs: number[] = [];
    let terminated = 0;
    let chaos = true;
    const admin = new pg.Pool({ connectionString: cluster.url('postgres'), max: 1 });
    admin.on('error', () => undefined);
    // Armed kills: each round allows two, spent on the first sink connections seen busy (inside a
    // batch), so every cut lands mid-batch and the sink still gets to finish the retried one.
    let armed = 0;
    const killer = (async () => {
      while (chaos) {
        if (armed > 0) {
          const killed = await admin
            .query(`SELECT count(pg_terminate_backend(pid))::int AS n FROM pg_stat_activity WHERE datname = 'stack' AND application_name = 'stack-sync-sink' AND state IN ('active', 'idle in transaction')`)
            .catch(() => ({ rows: [{ n: 0 }] }));
          const count = Number(killed.rows[0]?.n ?? 0);
          if (count > 0) armed -= 1;
          terminated += count;
        }
        await delay(5);
      }
    })();
    const observer = (async () => {
      while (chaos) {
        const seen = await observe(flaky);
        if (seen) observations.push(seen);
        await delay(10);
      }
    })();
    try {
      for (let round = 0; round < 8; round++) {
        // Big transactions make big batches: many rows for a kill to land between.
        armed = 2;
        await ctx.insertUsers(flakyTenant.tenancyId, 400, `round-${round}-`);
        await ctx.internal.query(`UPDATE "ProjectUser" SET "displayName" = "displayName" || '-renamed' WHERE "tenancyId" = $1 AND "displayName" LIKE $2`, [flakyTenant.tenancyId, `round-${round}-%`]);
        if (round === 4) {
          // The whole server restarts under the sink, between two rounds of writes.
          await cluster.crash();
          await cluster.start();
        }
        const started = Date.now();
        const name = `neighbour-${round}`;
        await ctx.createUser(neighbour, { display_name: name });
        await pollExternal(steady, `SELECT 1 FROM users WHERE display_name = '${name}'`, (rows) => rows.length === 1, 10_000);
        neighbourLagMs.push(Date.now() - started);
      }
      await ctx.internal.query(`DELETE FROM "ProjectUser" WHERE "tenancyId" = $1 AND "displayName" LIKE 'round-1-%'`, [flakyTenant.tenancyId]);
      // Catching up happens under the same chaos: the sink retries each cut batch by itself.
      await expectConverged(ctx.internal, flakyTenant.tenancyId, flaky, 120_000);
    } finally {
      chaos = false;
      await Promise.all([killer, observer]);
      await admin.end();
    }
    await expectConverged(ctx.internal, neighbour.tenancyId, steady);

    // Replay the topic up to each observed offset: the rows must be exactly that, no more, no less.
    const events = (await readAll(ctx, [`${ctx.config.CDC_TOPIC_PREFIX}.${flakyTenant.tenancyId}`], false)).sort((a, b) => (a.offset < b.offset ? -1 : 1));
    const stateAt = (offset: bigint): string[] => {
      const users = new Map<string, string>();
      for (const { offset: at, event } of events) {
        if (at > offset) break;
        if (event.source.table !== 'ProjectUser') continue;
        const row = event.op === 'd' ? event.before : event.after;
        const id = String(row?.projectUserId);
        if (event.op === 'd') users.delete(id);
        else users.set(id, `${id}=${String(event.after?.displayName ?? '')}`);
      }
      return [...users.values()].sort();
    };
    const distinctOffsets = new Set(observations.map(({ offset }) => offset));
    // A retried batch after a kill may merge several rounds (the sink backs off), so fewer offsets
    // than rounds are seen; more than one shows the observer watched the database move.
    expect(distinctOffsets.size, 'observations must span several batches').toBeGreaterThanOrEqual(2);
    for (const { offset, users } of observations) expect(users, `rows at offset ${offset}`).toEqual(stateAt(offset));
    // Two kills are armed per round; a batch that commits before the killer sees it busy escapes.
    expect(terminated, 'the chaos must have cut sink connections in the middle of batches').toBeGreaterThanOrEqual(3);
    console.log(`external restart test: ${terminated} connections terminated, a server restart, ${observations.length} observations at ${distinctOffsets.size} offsets, each equal to the topic up to its offset; neighbour write → visible ${neighbourLagMs.join(', ')} ms`);
    expect(Math.max(...neighbourLagMs)).toBeLessThan(3_000);
  });
});
