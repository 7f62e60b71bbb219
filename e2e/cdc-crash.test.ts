import { describe, expect, it } from 'vitest';
import { kafkaClient } from '../infra/runtime/kafka-client';
import { waitFor } from '../infra/wait-for';
import { changeEventSchema, type ChangeEvent } from '../schema/change-event';
import { PartProcess } from './harness/part-process';
import { PipelineContext } from './harness/pipeline-context';
import { SeededRandom } from './harness/seeded-random';
import { UserWorkload } from './harness/workload';

interface TopicEvent {
  topic: string;
  offset: bigint;
  key: string;
  event: ChangeEvent;
}

/** Every record of `topics`; `readUncommitted` also shows records of aborted Kafka transactions. */
async function readAll(ctx: PipelineContext, topics: string[], readUncommitted: boolean): Promise<TopicEvent[]> {
  const kafka = kafkaClient(ctx.config.KAFKA_BROKERS, `${ctx.name}-audit`);
  const admin = kafka.admin();
  await admin.connect();
  const ends = new Map<string, bigint>();
  for (const topic of topics) ends.set(topic, BigInt((await admin.fetchTopicOffsets(topic))[0]?.high ?? '0'));
  await admin.disconnect();
  const consumer = kafka.consumer({ groupId: `${ctx.name}-audit-${readUncommitted ? 'all' : 'committed'}`, maxWaitTimeInMs: 100, readUncommitted });
  const read = new Map<string, bigint>();
  const events: TopicEvent[] = [];
  await consumer.connect();
  try {
    await consumer.subscribe({ topics, fromBeginning: true });
    await consumer.run({
      eachMessage: async ({ topic, message }) => {
        read.set(topic, BigInt(message.offset) + 1n);
        if (message.value === null) return;
        events.push({ topic, offset: BigInt(message.offset), key: message.key!.toString(), event: changeEventSchema.parse(JSON.parse(message.value.toString())) });
      },
    });
    // The end offset may be a transaction marker, which is never delivered: the last record before it counts.
    await waitFor('every topic to be read to its end', async () => topics.every((topic) => (read.get(topic) ?? 0n) >= ends.get(topic)! - 1n), { timeoutMs: 120_000 });
  } finally {
    await consumer.disconnect();
  }
  return events;
}

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

    for (const [index, tenancyId] of tenancyIds.entries()) {
      const ordered = events.filter((item) => item.topic === topics[index]).sort((a, b) => (a.offset < b.offset ? -1 : 1));
      const state = new Map<string, Record<string, unknown>>();
      let last: [bigint, number] = [-1n, -1];
      for (const { key, event, offset } of ordered) {
        // Exactly once, in order: every event's (commit_lsn, seq) is after the previous one's.
        const position: [bigint, number] = [BigInt(event.source.commit_lsn), event.source.seq];
        const after = position[0] > last[0] || (position[0] === last[0] && position[1] > last[1]);
        expect(after, `tenancy ${index}, offset ${offset}: (${position.join(', ')}) does not follow (${last.join(', ')})`).toBe(true);
        last = position;
        if (event.op === 'd') state.delete(key);
        else state.set(key, event.after!);
      }
      const users = await ctx.internal.query<{ id: string; name: string }>(`SELECT "projectUserId"::text AS id, "displayName" AS name FROM "ProjectUser" WHERE "tenancyId" = $1`, [tenancyId]);
      const channels = await ctx.internal.query<{ id: string; value: string }>(`SELECT id::text AS id, value FROM "ContactChannel" WHERE "tenancyId" = $1`, [tenancyId]);
      const derivedUsers = [...state.entries()].filter(([key]) => key.startsWith('ProjectUser:')).map(([, row]) => `${row.projectUserId}=${row.displayName}`).sort();
      const derivedChannels = [...state.entries()].filter(([key]) => key.startsWith('ContactChannel:')).map(([, row]) => `${row.id}=${row.value}`).sort();
      expect(derivedUsers, `tenancy ${index}`).toEqual(users.rows.map((row) => `${row.id}=${row.name}`).sort());
      expect(derivedChannels, `tenancy ${index}`).toEqual(channels.rows.map((row) => `${row.id}=${row.value}`).sort());
    }
    // What a consumer that ignores transactions would have seen: records of Kafka transactions
    // the kills cut short, which Kafka aborted and the next reader published again.
    const everything = await readAll(ctx, topics, true);
    console.log(
      `cdc crash test: ${kills} kills; ${workload.committed} transactions committed, ${workload.rolledBack} rolled back; ${events.length} committed events, each once; ${everything.length - events.length} records of aborted Kafka transactions`,
    );
  });
});
