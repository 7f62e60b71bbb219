import { describe, expect, it } from 'vitest';
import { waitFor } from '../infra/wait-for';
import { CdcHealthMonitor, readSlotHealth } from '../cdc/slot-health';
import { PipelineContext } from './harness/pipeline-context';

// Solo: it lowers max_slot_wal_keep_size for the whole test cluster, which would endanger the slots
// of tests running beside it.
describe('slot health under a WAL limit', () => {
  it('a slot past max_slot_wal_keep_size is reported at risk, then lost after a checkpoint; the reader replaces it and snapshots what the lost WAL held', { timeout: 300_000 }, async () => {
    await using ctx = await PipelineContext.open();
    const health = new CdcHealthMonitor(ctx.internal, ctx.name);
    await ctx.internal.query(`ALTER SYSTEM SET max_slot_wal_keep_size = '64MB'`);
    await ctx.internal.query('SELECT pg_reload_conf()');
    try {
      await waitFor('the limit to apply', async () => (await ctx.internal.query<{ v: string }>(`SELECT current_setting('max_slot_wal_keep_size') AS v`)).rows[0]?.v === '64MB');
      await ctx.startCdc();
      expect((await health.report()).status).toBe('ok');
      const project = await ctx.createProject();
      await ctx.stopCdc();
      expect((await readSlotHealth(ctx.internal, ctx.name)).condition).toBe('healthy');

      // The reader is down while a user signs up and 200 MB of WAL is written: the slot falls behind its limit.
      await ctx.createUser(project, { display_name: 'written while the reader was down' });
      await ctx.internal.query('CREATE TABLE "Unpublished" (id bigserial PRIMARY KEY, payload text NOT NULL)');
      for (let batch = 0; batch < 4; batch++) {
        await ctx.internal.query(`INSERT INTO "Unpublished" (payload) SELECT repeat(md5(n::text), 32) FROM generate_series(1, 50000) AS n`);
      }
      const atRisk = await readSlotHealth(ctx.internal, ctx.name);
      expect(['at_risk', 'lost']).toContain(atRisk.condition);
      expect(atRisk.retainedBytes).toBeGreaterThan(64 * 1024 * 1024);
      expect((await health.report()).status).not.toBe('ok');

      // A checkpoint removes the WAL the slot still needed.
      await waitFor('the slot to be lost', async () => {
        await ctx.internal.query('CHECKPOINT');
        return (await readSlotHealth(ctx.internal, ctx.name)).condition === 'lost';
      });
      const lost = await readSlotHealth(ctx.internal, ctx.name);
      expect(lost).toMatchObject({ condition: 'lost', walStatus: 'lost' });
      expect(await health.report()).toMatchObject({ status: 'failing', slot: { condition: 'lost' } });

      // The reader replaces the slot and snapshots: the user written in the lost WAL still arrives.
      await ctx.startCdc();
      const records = await ctx.readTopic(project.tenancyId, (found) => found.some((record) => record.value?.includes('written while the reader was down')));
      const event = JSON.parse(records.find((record) => record.value?.includes('written while the reader was down'))!.value!) as { op: string };
      expect(event.op).toBe('r');
      expect((await readSlotHealth(ctx.internal, ctx.name)).condition).toBe('healthy');
      console.log(JSON.stringify({ at_risk: atRisk, lost }));
    } finally {
      await ctx.internal.query('ALTER SYSTEM RESET max_slot_wal_keep_size');
      await ctx.internal.query('SELECT pg_reload_conf()');
    }
  });
});
