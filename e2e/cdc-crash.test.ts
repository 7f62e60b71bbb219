import { describe, expect, it } from 'vitest';
import { waitFor } from '../infra/wait-for';
import { PartProcess } from './harness/part-process';
import { PipelineContext } from './harness/pipeline-context';
import { SeededRandom } from './harness/seeded-random';
import { expectExactlyOnceInOrder, readAll } from './harness/topic-audit';
import { UserWorkload } from './harness/workload';

describe('cdc crash safety', () => {
  it('SIGKILLed ≥ 20 times during a mixed workload over 20 tenancies: a read_committed consumer sees every committed change exactly once, in order, and nothing rolled back', { timeout: 400_000 }, async () => {
    await using ctx = await PipelineContext.open({ CDC_HEARTBEAT_INTERVAL_MS: '1000' });
    const projects = [];
    for (let index = 0; index < 20; index++) projects.push(await ctx.createProject(`tenant ${index}`));
    const tenancyIds = projects.map((project) => project.tenancyId);
    for (const tenancyId of tenancyIds) await ctx.insertUsers(tenancyId, 5, 'seed-');
    const reader = new PartProcess('cdc', ctx.config);
    const confirmed = async () =>
      (await ctx.internal.query<{ lsn: string }>(`SELECT coalesce(confirmed_flush_lsn, '0/0')::text AS lsn FROM pg_replication_slots WHERE slot_name = $1`, [ctx.name])).rows[0]?.lsn ?? '0/0';
    const lsnAtLeast = async (target: string) =>
      (await ctx.internal.query<{ ok: boolean }>(`SELECT confirmed_flush_lsn >= $2::pg_lsn AS ok FROM pg_replication_slots WHERE slot_name = $1`, [ctx.name, target])).rows[0]?.ok === true;
    reader.start();
    await waitFor('the slot to exist', async () => (await confirmed()) !== '0/0', { timeoutMs: 30_000 });

    const random = new SeededRandom(424_242);
    const workload = new UserWorkload(ctx.internal, tenancyIds, random);
    let running = true;
    const writing = workload.run(2, () => running);
    let kills = 0;
    try {
      while (kills < 20) {
        const before = await confirmed();
        await waitFor('the restarted reader to confirm something', async () => (await confirmed()) !== before, { timeoutMs: 60_000, intervalMs: 50 });
        await new Promise((resolve) => setTimeout(resolve, random.int(1_000)));
        await reader.kill();
        kills++;
        reader.start();
      }
    } finally {
      running = false;
      await writing;
    }
    const end = (await ctx.internal.query<{ lsn: string }>('SELECT pg_current_wal_lsn()::text AS lsn')).rows[0]!.lsn;
    await waitFor('the reader to confirm everything committed', () => lsnAtLeast(end), { timeoutMs: 120_000, intervalMs: 200 });
    await reader.stop();
    expect(kills).toBeGreaterThanOrEqual(20);
    expect(workload.rolledBack).toBeGreaterThan(0);

    const topics = tenancyIds.map((tenancyId) => `${ctx.config.CDC_TOPIC_PREFIX}.${tenancyId}`);
    const events = await readAll(ctx, topics, false);
    expect(events.some(({ event }) => JSON.stringify(event).includes('rolledback-'))).toBe(false);

    await expectExactlyOnceInOrder(ctx, tenancyIds, events);
    // What a consumer that ignores transactions would have seen: records of Kafka transactions
    // the kills cut short, which Kafka aborted and the next reader published again.
    const everything = await readAll(ctx, topics, true);
    console.log(
      `cdc crash test: ${kills} kills; ${workload.committed} transactions committed, ${workload.rolledBack} rolled back; ${events.length} committed events, each once; ${everything.length - events.length} records of aborted Kafka transactions`,
    );
  });
});
