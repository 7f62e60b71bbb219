import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { startCdc } from './start-cdc';
import { PipelineContext } from '../e2e/harness/pipeline-context';

/**
 * A topic prefix holds one event format: consumers of a topic (a Connect sink, ksqlDB) read one. A
 * reader restarted with the other CDC_EVENT_FORMAT on the same slot and prefix must stop, not
 * append records of the other format behind the first ones.
 */
describe('CDC_EVENT_FORMAT is fixed per topic prefix', () => {
  it('a reader in the other format refuses to continue a prefix that holds events', async () => {
    await using ctx = await PipelineContext.open();
    await ctx.startCdc();
    const project = await ctx.createProject();
    await ctx.insertUsers(project.tenancyId, 1, 'first-');
    await ctx.readTopic(project.tenancyId, (records) => records.length >= 2);
    await ctx.stopCdc();

    const other = await startCdc({ ...ctx.config, CDC_EVENT_FORMAT: 'debezium-json-schemas' }, new Registry());
    try {
      // The publisher opens (and reads the position back) with the first records to publish.
      await ctx.insertUsers(project.tenancyId, 1, 'second-');
      await expect(other.reader.done).rejects.toMatchObject({ code: 'CDC_EVENT_FORMAT_MISMATCH' });
    } finally {
      await other.stop().catch(() => undefined);
    }
    const records = await ctx.readTopic(project.tenancyId, (all) => all.length >= 2);
    expect(records.every((record) => record.value === null || !record.value.startsWith('{"schema"'))).toBe(true);
    expect(records).toHaveLength(2);
  });

  it('the same format continues where it left off', async () => {
    await using ctx = await PipelineContext.open({ CDC_EVENT_FORMAT: 'debezium-json-schemas' });
    await ctx.startCdc();
    const project = await ctx.createProject();
    await ctx.insertUsers(project.tenancyId, 1, 'first-');
    await ctx.readTopic(project.tenancyId, (records) => records.length >= 2);
    await ctx.stopCdc();
    await ctx.startCdc();
    await ctx.insertUsers(project.tenancyId, 1, 'second-');
    const records = await ctx.readTopic(project.tenancyId, (all) => all.length >= 4);
    expect(records.every((record) => record.value?.startsWith('{"schema"'))).toBe(true);
  });
});
