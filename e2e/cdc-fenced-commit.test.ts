import { describe, expect, it } from 'vitest';
import { positionRecord } from '../cdc/kafka-publisher';
import { kafkaClient } from '../infra/runtime/kafka-client';
import { waitFor } from '../infra/wait-for';
import { changeEventSchema } from '../schema/change-event';
import { PipelineContext } from './harness/pipeline-context';

/**
 * A standby (or an operator's stray process) that initialises the reader's transactional id fences
 * the active reader: its next Kafka send or commit fails. The reader must give up that stream,
 * reopen (fencing the intruder in turn), skip what Kafka already committed and publish the rest —
 * once. Before the fix a commit failure while the reader was parked for queue room left it, and
 * stop(), waiting forever (the unit test in cdc/publish-pipeline.test.ts pins that interleaving).
 */
describe('cdc reader fenced while publishing a backlog', () => {
  it('restarts after each fence and publishes every transaction exactly once', async () => {
    await using ctx = await PipelineContext.open();
    await ctx.startCdc();
    const project = await ctx.createProject();
    // Writers keep a backlog flowing until the third fence has been answered by a restart, then
    // write a tail: a fence only bites once the reader sends again.
    const writers = 4;
    let written = 0;
    let fencesDone = false;
    const writing = Promise.all(
      Array.from({ length: writers }, async (_, writer) => {
        for (let tail = 0; tail < 50; ) {
          await ctx.internal.query(`INSERT INTO "ProjectUser" ("tenancyId", "projectUserId", "displayName") VALUES ($1, gen_random_uuid(), $2)`, [
            project.tenancyId,
            `user-${writer}-${written++}`,
          ]);
          if (fencesDone) tail++;
        }
      }),
    );

    const reconnects = async () => (await ctx.cdcRegistry.getSingleMetric('cdc_replication_reconnects_total')?.get())?.values[0]?.value ?? 0;
    const kafka = kafkaClient(ctx.config.KAFKA_BROKERS, `${ctx.name}-intruder`);
    const position = positionRecord(ctx.config.CDC_TOPIC_PREFIX, ctx.config.CDC_SLOT);
    const { transactionalId } = position;
    const admin = kafka.admin();
    await admin.connect();
    // The commit LSN the reader last committed to Kafka: it moves once an incarnation publishes.
    // (Its topic exists only once the reader opened for the first time.)
    const publishedPosition = async () =>
      (await admin.fetchOffsets({ groupId: position.groupId, topics: [position.topic] }).catch(() => []))[0]?.partitions[0]?.offset ?? '-1';
    for (let fence = 1; fence <= 3; fence++) {
      const from = written;
      // Fence only an incarnation that is publishing (one still reopening would fence the intruder).
      const before = await publishedPosition();
      await waitFor(`300 more writes before fence ${fence}`, async () => written >= from + 300, { timeoutMs: 60_000, intervalMs: 20 });
      await waitFor(`the reader to publish before fence ${fence}`, async () => (await publishedPosition()) !== before, { timeoutMs: 30_000, intervalMs: 50 });
      const intruder = kafka.producer({ transactionalId, idempotent: true, maxInFlightRequests: 1 });
      await intruder.connect();
      // Initialises the transactional id with a new epoch: the reader's producer is fenced.
      const transaction = await intruder.transaction();
      await transaction.abort();
      await intruder.disconnect();
      await waitFor(`the reader to restart after fence ${fence}`, async () => (await reconnects()) >= fence, { timeoutMs: 30_000, intervalMs: 50 });
    }
    fencesDone = true;
    await writing;
    await admin.disconnect();
    const total = written;

    const records = await ctx.readTopic(project.tenancyId, (found) => found.length >= total, 60_000);
    const names = records.map((record) => (changeEventSchema.parse(JSON.parse(record.value!)).after as { displayName: string }).displayName);
    expect(names).toHaveLength(total);
    expect(new Set(names).size).toBe(total);
    // The reader still stops promptly (it used to hang in stop() after a failed commit).
    const stopping = ctx.stopCdc();
    expect(await Promise.race([stopping.then(() => 'stopped'), new Promise((resolve) => setTimeout(() => resolve('hung'), 15_000))])).toBe('stopped');
  });
});
