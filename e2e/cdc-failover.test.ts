import { describe, expect, it } from 'vitest';
import { waitFor } from '../infra/wait-for';
import { changeEventSchema } from '../schema/change-event';
import { PartProcess } from './harness/part-process';
import { PipelineContext } from './harness/pipeline-context';

describe('cdc high availability', () => {
  // Two readers on one slot: Postgres lets one stream at a time (the slot's active walsender is the
  // leader lock); the other retries until the slot is free and then resumes at the confirmed LSN.
  it('a standby reader takes over within 10 s of the active one being killed, losing nothing', { timeout: 180_000 }, async () => {
    await using ctx = await PipelineContext.open();
    const project = await ctx.createProject();
    const readers = { a: new PartProcess('cdc', ctx.config, 'cdc-a'), b: new PartProcess('cdc', ctx.config, 'cdc-b') };
    const active = async () =>
      (await ctx.internal.query<{ name: string }>(
        `SELECT r.application_name AS name FROM pg_replication_slots s JOIN pg_stat_replication r ON r.pid = s.active_pid WHERE s.slot_name = $1`,
        [ctx.name],
      )).rows[0]?.name;
    try {
      readers.a.start();
      await waitFor('reader a to stream', async () => (await active()) === 'cdc-a', { timeoutMs: 30_000 });
      readers.b.start();

      let next = 0;
      let writing = true;
      const writer = (async () => {
        while (writing) {
          await ctx.internal.query(`INSERT INTO "ProjectUser" ("tenancyId", "projectUserId", "displayName") VALUES ($1, gen_random_uuid(), $2)`, [project.tenancyId, `row-${next++}`]);
          await new Promise((resolve) => setTimeout(resolve, 5));
        }
      })();
      await waitFor('some rows to be written', async () => next > 200);
      await readers.a.kill();
      const killedAt = Date.now();
      await waitFor('reader b to take over', async () => (await active()) === 'cdc-b', { timeoutMs: 10_000, intervalMs: 100 });
      const takeoverMs = Date.now() - killedAt;
      await waitFor('more rows after the takeover', async () => next > 600);
      writing = false;
      await writer;

      const records = await ctx.readTopic(project.tenancyId, (found) => new Set(found.map((record) => record.key)).size >= next, 60_000);
      const events = records.map((record) => ({ key: record.key, event: changeEventSchema.parse(JSON.parse(record.value!)) }));
      const names = new Set(events.map(({ event }) => (event.after as { displayName: string }).displayName));
      expect(names.size).toBe(next);
      // A transaction published again after the kill carries the position it had the first time,
      // so a consumer that tracks (commit_lsn, seq) drops it.
      const positions = new Map<string, Set<string>>();
      for (const { key, event } of events) {
        const seen = positions.get(key) ?? new Set<string>();
        seen.add(`${event.source.commit_lsn}/${event.source.seq}`);
        positions.set(key, seen);
      }
      expect([...positions.values()].every((seen) => seen.size === 1)).toBe(true);
      expect(takeoverMs).toBeLessThan(10_000);
      console.log(`cdc failover: standby streaming ${takeoverMs} ms after the kill; ${next} rows, ${records.length} records`);
    } finally {
      await readers.a.kill();
      await readers.b.stop();
    }
  });
});
