import { describe, expect, it } from 'vitest';
import { kafkaClient } from '../infra/runtime/kafka-client';
import { waitFor } from '../infra/wait-for';
import { PartProcess } from './harness/part-process';
import { processMemoryMb } from './harness/process-memory';
import { PipelineContext } from './harness/pipeline-context';

const rows = 200_000;
const rssBoundMb = 300;

/** Counts a topic's records as a read_committed consumer sees them, until `until` holds. */
async function countCommitted(ctx: PipelineContext, topic: string, until: (count: number, rolledBack: number) => boolean): Promise<{ count: number; rolledBack: number }> {
  const kafka = kafkaClient(ctx.config.KAFKA_BROKERS, `${ctx.name}-counter`);
  const consumer = kafka.consumer({ groupId: `${ctx.name}-counter`, maxWaitTimeInMs: 100, maxBytesPerPartition: 16 * 1024 * 1024 });
  let count = 0;
  let rolledBack = 0;
  await consumer.connect();
  try {
    await consumer.subscribe({ topic, fromBeginning: true });
    await consumer.run({
      eachBatch: async ({ batch }) => {
        for (const message of batch.messages) {
          if (message.value === null) continue;
          count++;
          if (message.value.includes('rolledback-')) rolledBack++;
        }
      },
    });
    await waitFor('the committed records', async () => until(count, rolledBack), { timeoutMs: 300_000, intervalMs: 250 });
    return { count, rolledBack };
  } finally {
    await consumer.disconnect();
  }
}

// Solo: a 200,000-row transaction keeps both cores busy for a while.
describe('huge transactions', () => {
  it(`a ${rows.toLocaleString('en')}-row transaction goes through with the cdc process under ${rssBoundMb} MB, exactly once; a rolled-back one never appears`, { timeout: 600_000 }, async () => {
    await using ctx = await PipelineContext.open();
    const project = await ctx.createProject();
    const reader = new PartProcess('cdc', ctx.config, undefined, ['--max-old-space-size=192']);
    reader.start();
    try {
      await waitFor('the slot to exist', async () => (await ctx.internal.query(`SELECT 1 FROM pg_replication_slots WHERE slot_name = $1`, [ctx.name])).rowCount === 1, { timeoutMs: 60_000 });
      const insert = `INSERT INTO "ProjectUser" ("tenancyId", "projectUserId", "displayName", "serverMetadata")
                      SELECT $1, gen_random_uuid(), $2 || n, jsonb_build_object('n', n, 'note', repeat('x', 200)) FROM generate_series(1, $3) AS n`;
      // A huge transaction that rolls back: pgoutput never sends it, so nothing of it may appear.
      const client = await ctx.internal.connect();
      try {
        await client.query('BEGIN');
        await client.query(insert, [project.tenancyId, 'rolledback-', 50_000]);
        await client.query('ROLLBACK');
      } finally {
        client.release();
      }
      await ctx.internal.query(insert, [project.tenancyId, 'bulk-', rows]);
      const end = (await ctx.internal.query<{ lsn: string }>('SELECT pg_current_wal_lsn()::text AS lsn')).rows[0]!.lsn;
      await waitFor(
        'the reader to confirm the transaction',
        async () => (await ctx.internal.query<{ ok: boolean }>(`SELECT confirmed_flush_lsn >= $2::pg_lsn AS ok FROM pg_replication_slots WHERE slot_name = $1`, [ctx.name, end])).rows[0]?.ok === true,
        { timeoutMs: 180_000, intervalMs: 500 },
      ).catch((error: unknown) => {
        throw new Error(`${error instanceof Error ? error.message : String(error)}\ncdc output:\n${reader.output.slice(-3_000)}`);
      });
      const pid = reader.pid;
      if (pid === undefined) throw new Error(`the cdc process exited:\n${reader.output}`);
      const peak = await processMemoryMb(pid, 'VmHWM');

      const topic = `${ctx.config.CDC_TOPIC_PREFIX}.${project.tenancyId}`;
      const { count, rolledBack } = await countCommitted(ctx, topic, (seen) => seen >= rows);
      console.log(JSON.stringify({ rows, cdc_peak_rss_mb: Math.round(peak), committed_records: count }));
      expect(count).toBe(rows);
      expect(rolledBack).toBe(0);
      expect(peak).toBeLessThan(rssBoundMb);
    } finally {
      await reader.stop();
    }
  });
});
