import { setTimeout as delay } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { waitFor } from '../infra/wait-for';
import { expectConverged } from './harness/oracle';
import { PartProcess } from './harness/part-process';
import { PipelineContext, pollExternal } from './harness/pipeline-context';
import { PrivateBroker, unusedPort } from './harness/private-broker';
import { SeededRandom } from './harness/seeded-random';
import { ownSecrets } from './harness/test-services';
import { expectExactlyOnceInOrder, readAll } from './harness/topic-audit';
import { UserWorkload } from './harness/workload';

async function healthStatus(part: PartProcess): Promise<string | undefined> {
  if (part.metricsUrl === undefined) return undefined;
  const response = await fetch(`${part.metricsUrl}/health`, { signal: AbortSignal.timeout(5_000) }).catch(() => undefined);
  return response ? ((await response.json()) as { status: string }).status : undefined;
}

describe('the Kafka broker dies under load', () => {
  // A broker upgrade or a crashed JVM: SIGKILL at random moments of a sustained mixed workload, so
  // some kills land inside the reader's open Kafka transaction and some inside a sink's batch.
  it('SIGKILLed 3 times: the parts ride it out (health degraded, no exit), resume within 30 s, and every database equals the oracle; Kafka has each change once, in order', { timeout: 600_000 }, async () => {
    await using broker = await PrivateBroker.create();
    await broker.start();
    await using ctx = await PipelineContext.open({ KAFKA_BROKERS: broker.brokers, CDC_HEARTBEAT_INTERVAL_MS: '1000', ...ownSecrets() });
    const projects = [];
    for (let index = 0; index < 4; index++) projects.push(await ctx.createProject(`tenant ${index}`));
    const tenancyIds = projects.map((project) => project.tenancyId);
    const externals: string[] = [];
    for (const project of projects) {
      const external = await ctx.createExternalDatabase();
      externals.push(external);
      await ctx.setExternalDatabases(project, { main: external });
      await ctx.insertUsers(project.tenancyId, 5, 'seed-');
    }
    const lsnAtLeast = async (target: string) =>
      (await ctx.internal.query<{ ok: boolean }>(`SELECT confirmed_flush_lsn >= $2::pg_lsn AS ok FROM pg_replication_slots WHERE slot_name = $1`, [ctx.name, target])).rows[0]?.ok === true;
    const currentLsn = async () => (await ctx.internal.query<{ lsn: string }>('SELECT pg_current_wal_lsn()::text AS lsn')).rows[0]!.lsn;

    const cdc = new PartProcess('cdc', ctx.config, undefined, [], { env: { METRICS_PORT: String(await unusedPort()) } });
    const sink = new PartProcess('sink', ctx.config, undefined, [], { env: { METRICS_PORT: String(await unusedPort()) } });
    const random = new SeededRandom(20_261_201);
    const workload = new UserWorkload(ctx.internal, tenancyIds, random);
    let running = true;
    let writing: Promise<void> | undefined;
    const resumedAfterMs: number[] = [];
    // When each fault happened, to read a failure's part logs against.
    const marks: string[] = [];
    const mark = (what: string) => marks.push(`${new Date().toISOString()} ${what}`);
    try {
      cdc.start();
      sink.start();
      for (const part of [cdc, sink]) await waitFor('the part to run', async () => (await healthStatus(part)) === 'ok', { timeoutMs: 60_000 });
      writing = workload.run(2, () => running);

      for (let kill = 0; kill < 3; kill++) {
        // Chaos timing, not synchronisation: the kill lands wherever the workload happens to be.
        await delay(1_500 + random.int(3_000));
        await broker.kill();
        mark(`broker killed (${kill + 1})`);
        for (const part of [cdc, sink]) await waitFor('health to show the outage', async () => (await healthStatus(part)) === 'degraded', { timeoutMs: 20_000 });
        await delay(random.int(3_000));
        await broker.start();
        mark(`broker back (${kill + 1})`);
        const backAt = Date.now();
        const walAtRestart = await currentLsn();
        await waitFor('the reader to confirm what was written before the broker came back', () => lsnAtLeast(walAtRestart), { timeoutMs: 30_000, intervalMs: 100 });
        for (const tenancyId of tenancyIds) await ctx.insertUsers(tenancyId, 1, `after-kill-${kill}-`);
        for (const external of externals) {
          await pollExternal(external, `SELECT 1 FROM users WHERE display_name = 'after-kill-${kill}-1'`, (rows) => rows.length === 1, Math.max(1, 30_000 - (Date.now() - backAt)));
        }
        resumedAfterMs.push(Date.now() - backAt);
        expect(cdc.exitCode, cdc.output.slice(-3_000)).toBeNull();
        expect(sink.exitCode, sink.output.slice(-3_000)).toBeNull();
      }
      running = false;
      await writing;
      const end = await currentLsn();
      await waitFor('the reader to confirm everything committed', () => lsnAtLeast(end), { timeoutMs: 60_000, intervalMs: 200 });
      for (const [index, tenancyId] of tenancyIds.entries()) await expectConverged(ctx.internal, tenancyId, externals[index]!, 60_000);
    } catch (error: unknown) {
      const tail = (part: PartProcess) => part.output.split('\n').filter((line) => !(line.includes('"part":"kafkajs"') && line.includes('ECONNREFUSED'))).join('\n').slice(-5_000);
      throw new Error(`${error instanceof Error ? error.message : String(error)}\n${marks.join('\n')}\ncdc output:\n${tail(cdc)}\nsink output:\n${tail(sink)}`);
    } finally {
      running = false;
      await writing;
      await Promise.all([cdc.stop(), sink.stop()]);
    }

    const topics = tenancyIds.map((tenancyId) => `${ctx.config.CDC_TOPIC_PREFIX}.${tenancyId}`);
    await expectExactlyOnceInOrder(ctx, tenancyIds, await readAll(ctx, topics, false));
    expect(workload.rolledBack).toBeGreaterThan(0);
    console.log(`broker restart test: 3 kills; ${workload.committed} transactions committed, ${workload.rolledBack} rolled back; every part resumed ${resumedAfterMs.map((ms) => `${(ms / 1000).toFixed(1)} s`).join(', ')} after the broker was back`);
  });
});
