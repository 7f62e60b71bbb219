import { expect } from 'vitest';
import { kafkaClient } from '../../infra/runtime/kafka-client';
import { waitFor } from '../../infra/wait-for';
import { changeEventSchema, type ChangeEvent } from '../../schema/change-event';
import type { PipelineContext } from './pipeline-context';

export interface TopicEvent {
  topic: string;
  offset: bigint;
  key: string;
  event: ChangeEvent;
}

/** Every record of `topics`; `readUncommitted` also shows records of aborted Kafka transactions. */
export async function readAll(ctx: PipelineContext, topics: string[], readUncommitted: boolean): Promise<TopicEvent[]> {
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

/**
 * What a read_committed consumer of each tenancy's topic sees is every committed change exactly
 * once, in `(commit_lsn, seq)` order, and replaying it gives the tenancy's rows now.
 */
export async function expectExactlyOnceInOrder(ctx: PipelineContext, tenancyIds: readonly string[], events: readonly TopicEvent[]): Promise<void> {
  const topics = tenancyIds.map((tenancyId) => `${ctx.config.CDC_TOPIC_PREFIX}.${tenancyId}`);
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
}
