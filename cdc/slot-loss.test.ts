import { describe, expect, it } from 'vitest';
import { waitFor } from '../infra/wait-for';
import { PipelineContext } from '../e2e/harness/pipeline-context';

describe('a lost replication slot', () => {
  // Recreating the slot would resume from "now" and skip whatever was committed while it was gone.
  it('is reported loudly, never quietly recreated', async () => {
    await using ctx = await PipelineContext.open();
    await ctx.startCdc();
    const project = await ctx.createProject();
    await ctx.createUser(project, { display_name: 'before' });
    await ctx.readTopic(project.tenancyId, (records) => records.length === 1);
    await ctx.stopCdc();
    await waitFor('the slot to be dropped', async () => {
      await ctx.internal.query('SELECT pg_drop_replication_slot($1)', [ctx.name]);
      return true;
    });
    await ctx.createUser(project, { display_name: 'while the slot was gone' });

    await expect(ctx.startCdc()).rejects.toMatchObject({ code: 'CDC_SLOT_LOST' });
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
