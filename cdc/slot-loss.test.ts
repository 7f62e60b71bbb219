import { describe, expect, it } from 'vitest';
import { waitFor } from '../infra/wait-for';
import { PipelineContext } from '../e2e/harness/pipeline-context';
import { CdcHealthMonitor } from './slot-health';

async function slotConditionMetric(ctx: PipelineContext): Promise<string | undefined> {
  const metric = await ctx.cdcRegistry.getSingleMetric('cdc_replication_slot_condition')?.get();
  return metric?.values.find((value) => value.labels.slot === ctx.name && value.value === 1)?.labels.condition as string | undefined;
}

describe('a lost replication slot', () => {
  // Recreating the slot and going on from "now" would skip whatever was committed while it was gone.
  it('is reported, then replaced by a new slot that starts with a snapshot of every tenancy — never a quiet restart from now', async () => {
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
    // Shown where operators look while no reader runs.
    expect(await health.report()).toMatchObject({ status: 'failing', slot: { condition: 'missing' } });

    await ctx.startCdc();
    await ctx.createUser(project, { display_name: 'after' });
    const events = async () => (await ctx.readTopic(project.tenancyId, (found) => found.length >= 4)).map((record) => JSON.parse(record.value!) as { op: string; after: { displayName: string } });
    const published = await events();
    // The change made while the slot was gone reaches Kafka through the new slot's snapshot
    // (startCdc returns once it is done).
    expect(published.filter((event) => event.op === 'r').map((event) => event.after.displayName).sort()).toEqual(['before', 'while the slot was gone']);
    expect(published.filter((event) => event.op === 'c').map((event) => event.after.displayName)).toEqual(['before', 'after']);
    expect(await slotConditionMetric(ctx)).toBe('healthy');
  });
});
