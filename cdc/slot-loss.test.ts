import { describe, expect, it } from 'vitest';
import { waitFor } from '../infra/wait-for';
import { PipelineContext } from '../e2e/harness/pipeline-context';
import { CdcHealthMonitor } from './slot-health';

async function slotConditionMetric(ctx: PipelineContext): Promise<string | undefined> {
  const metric = await ctx.cdcRegistry.getSingleMetric('cdc_replication_slot_condition')?.get();
  return metric?.values.find((value) => value.labels.slot === ctx.name && value.value === 1)?.labels.condition as string | undefined;
}

describe('a lost replication slot', () => {
  // Recreating the slot would resume from "now" and skip whatever was committed while it was gone.
  it('is reported loudly, never quietly recreated', async () => {
    await using ctx = await PipelineContext.open();
    await ctx.startCdc();
    const health = new CdcHealthMonitor(ctx.internal, ctx.name);
    const project = await ctx.createProject();
    await ctx.createUser(project, { display_name: 'before' });
    await ctx.readTopic(project.tenancyId, (records) => records.length === 1);
    expect(await slotConditionMetric(ctx)).toBe('healthy');
    expect((await health.report()).status).toBe('ok');
    await ctx.stopCdc();
    await waitFor('the slot to be dropped', async () => {
      await ctx.internal.query('SELECT pg_drop_replication_slot($1)', [ctx.name]);
      return true;
    });
    await ctx.createUser(project, { display_name: 'while the slot was gone' });

    const failure = await ctx.startCdc().catch((error: unknown) => error);
    expect(failure).toMatchObject({ code: 'CDC_SLOT_LOST' });
    // Shown where operators look: the metric and /health (503), with the reason.
    expect(await slotConditionMetric(ctx)).toBe('missing');
    health.failed(failure);
    expect(await health.report()).toMatchObject({ status: 'failing', reader: { state: 'stopped', error: { code: 'CDC_SLOT_LOST' } }, slot: { condition: 'missing' } });
    const slots = await ctx.internal.query('SELECT 1 FROM pg_replication_slots WHERE slot_name = $1', [ctx.name]);
    expect(slots.rowCount).toBe(0);

    // The operator accepts the gap: the reader starts over from now.
    await ctx.internal.query(`DELETE FROM "CdcSlot" WHERE "slotName" = $1`, [ctx.name]);
    await ctx.startCdc();
    await ctx.createUser(project, { display_name: 'after' });
    const records = await ctx.readTopic(project.tenancyId, (found) => found.length === 2);
    expect(records.map((record) => JSON.parse(record.value!).after.displayName)).toEqual(['before', 'after']);
  });
});
