import { afterAll, describe, expect, it } from 'vitest';
import { PipelineContext } from '../e2e/harness/pipeline-context';
import { externalConnectionOf, testAddressPolicy, withClient } from '../e2e/harness/test-services';
import type { ChangeEvent } from '../schema/change-event';
import type { OffsetEvent } from './batch-plan';
import { externalConnectionBudget } from './external-connections';
import { defaultMappings } from './mappings';
import { PostgresTarget } from './postgres-target';
import { ForeignProgressError, OffsetGapError, ProgressRewoundError } from './target';

const tenancyId = '11111111-1111-4111-8111-111111111111';

function userEvent(offset: number, userId: string, displayName: string): OffsetEvent {
  const row = { tenancyId, projectUserId: userId, displayName, createdAt: '2024-01-01T00:00:00.000Z', isAnonymous: false, restrictedByAdmin: false };
  const event: ChangeEvent = {
    before: null,
    after: row,
    op: 'c',
    ts_ms: 0,
    source: { connector: 'postgresql', db: 'stack', schema: 'public', table: 'ProjectUser', txId: offset, lsn: String(offset), commit_lsn: String(offset), seq: 0, ts_ms: 0, tenancyId, snapshot: 'false' },
    transaction: { id: `${offset}:${offset}`, total_order: 1, data_collection_order: 1 },
  };
  return { offset: BigInt(offset), event };
}

describe('PostgresTarget (real external Postgres)', () => {
  const connections = externalConnectionBudget({ maxOpen: 4, idleMs: 1_000, policy: testAddressPolicy() });
  afterAll(() => connections.close());

  it('applies each offset once: a redelivered or overlapping batch only applies what is new', async () => {
    await using ctx = await PipelineContext.open();
    const url = await ctx.createExternalDatabase();
    const target = new PostgresTarget({ connection: externalConnectionOf(url), label: 'test/db', connectionKey: 'test/db', topic: 'topic', mappings: defaultMappings, connections });
    try {
      expect(await target.prepare()).toEqual({ appliedOffset: -1n, coveredThrough: -1n, sweepPending: false, sweptSnapshotId: -1n });
      await withClient(url, (client) =>
        client.query(`
          CREATE TABLE apply_audit (id uuid, display_name text);
          CREATE FUNCTION log_apply() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN INSERT INTO apply_audit VALUES (NEW.id, NEW.display_name); RETURN NEW; END $$;
          CREATE TRIGGER audit AFTER INSERT OR UPDATE OF display_name ON users FOR EACH ROW EXECUTE FUNCTION log_apply();`),
      );
      const a = 'aaaaaaaa-aaaa-4aaa-8aaa-aaaaaaaaaaaa';
      const b = 'bbbbbbbb-bbbb-4bbb-8bbb-bbbbbbbbbbbb';
      const first = [userEvent(0, a, 'a0'), userEvent(1, b, 'b1')];
      expect(await target.apply(first, { fetchedFrom: 0n, through: 1n, resumedFrom: -1n })).toEqual({ applied: 2, appliedOffset: 1n, coveredThrough: 1n });
      // Kafka redelivers the same batch (a rebalance, a crash before the offset commit).
      expect(await target.apply(first, { fetchedFrom: 0n, through: 1n, resumedFrom: 1n })).toEqual({ applied: 0, appliedOffset: 1n, coveredThrough: 1n });
      // An overlapping batch: offsets 1 and 2, of which only 2 is new.
      expect(await target.apply([userEvent(1, b, 'b1'), userEvent(2, a, 'a2')], { fetchedFrom: 1n, through: 2n, resumedFrom: 1n })).toEqual({ applied: 1, appliedOffset: 2n, coveredThrough: 2n });
      const audit = await withClient(url, async (client) => (await client.query('SELECT display_name FROM apply_audit ORDER BY display_name')).rows);
      expect(audit).toEqual([{ display_name: 'a0' }, { display_name: 'a2' }, { display_name: 'b1' }]);
      const progress = await withClient(url, async (client) => (await client.query(`SELECT mapping_name, last_synced_sequence_id::int AS id, last_commit_lsn FROM _stack_sync_metadata ORDER BY 1`)).rows);
      expect(progress).toEqual([
        { mapping_name: 'contact_channels', id: 2, last_commit_lsn: '2' },
        { mapping_name: 'users', id: 2, last_commit_lsn: '2' },
      ]);

      // Someone resets the progress to rebuild: the next apply says so instead of skipping ahead.
      await withClient(url, (client) => client.query('UPDATE _stack_sync_metadata SET last_synced_sequence_id = -1'));
      await expect(target.apply([userEvent(3, a, 'a3')], { fetchedFrom: 3n, through: 3n, resumedFrom: 2n })).rejects.toBeInstanceOf(ProgressRewoundError);
    } finally {
      await target.close();
    }
  });

  it('rolls back rows and progress together when a statement fails', async () => {
    await using ctx = await PipelineContext.open();
    const url = await ctx.createExternalDatabase();
    const target = new PostgresTarget({ connection: externalConnectionOf(url), label: 'test/db', connectionKey: 'test/db', topic: 'topic', mappings: defaultMappings, connections });
    try {
      await target.prepare();
      await withClient(url, (client) => client.query('ALTER TABLE contact_channels DROP COLUMN value'));
      const channel: OffsetEvent = {
        offset: 1n,
        event: { ...userEvent(1, 'cccccccc-cccc-4ccc-8ccc-cccccccccccc', 'x').event, source: { ...userEvent(1, 'c', 'x').event.source, table: 'ContactChannel' }, after: { tenancyId, projectUserId: 'cccccccc-cccc-4ccc-8ccc-cccccccccccc', id: 'dddddddd-dddd-4ddd-8ddd-dddddddddddd', type: 'EMAIL', value: 'v@example.com' } },
      };
      await expect(target.apply([userEvent(0, 'cccccccc-cccc-4ccc-8ccc-cccccccccccc', 'x'), channel], { fetchedFrom: 0n, through: 1n, resumedFrom: -1n })).rejects.toMatchObject({ code: 'SINK_TARGET_FAILED' });
      const state = await withClient(url, async (client) => ({
        users: (await client.query('SELECT count(*)::int AS n FROM users')).rows[0].n,
        progress: (await client.query('SELECT max(last_synced_sequence_id)::int AS n FROM _stack_sync_metadata')).rows[0].n,
      }));
      // The user row of the same batch did not stay behind without its progress.
      expect(state).toEqual({ users: 0, progress: -1 });
    } finally {
      await target.close();
    }
  });

  // A batch fetched before a backward seek used to be accepted and applied, skipping the offsets
  // between the database's progress and the batch's start for good.
  it('refuses a batch that starts after the stored progress, writing nothing', async () => {
    await using ctx = await PipelineContext.open();
    const url = await ctx.createExternalDatabase();
    const target = new PostgresTarget({ connection: externalConnectionOf(url), label: 'test/db', connectionKey: 'test/db', topic: 'topic', mappings: defaultMappings, connections });
    try {
      await target.prepare();
      const a = 'aaaaaaaa-aaaa-4aaa-8aaa-aaaaaaaaaaaa';
      const b = 'bbbbbbbb-bbbb-4bbb-8bbb-bbbbbbbbbbbb';
      await target.apply([userEvent(0, a, 'a0')], { fetchedFrom: 0n, through: 0n, resumedFrom: -1n });
      await expect(target.apply([userEvent(5, b, 'b5')], { fetchedFrom: 5n, through: 6n, resumedFrom: 0n })).rejects.toBeInstanceOf(OffsetGapError);
      // A batch of markers only (offsets 1–3) is covered, so one read from 4 follows on.
      expect(await target.apply([], { fetchedFrom: 1n, through: 3n, resumedFrom: 0n })).toEqual({ applied: 0, appliedOffset: 0n, coveredThrough: 3n });
      expect(await target.apply([userEvent(4, b, 'b4')], { fetchedFrom: 4n, through: 5n, resumedFrom: 3n })).toEqual({ applied: 1, appliedOffset: 4n, coveredThrough: 5n });
      const state = await withClient(url, async (client) => ({
        users: (await client.query('SELECT display_name FROM users ORDER BY display_name')).rows,
        progress: (await client.query('SELECT DISTINCT last_synced_sequence_id::int AS n FROM _stack_sync_metadata')).rows,
      }));
      expect(state).toEqual({ users: [{ display_name: 'a0' }, { display_name: 'b4' }], progress: [{ n: 4 }] });
    } finally {
      await target.close();
    }
  });

  // Project A pointed at project B's database: A's users were written into B's tables and B's
  // progress overwritten with A's offset, so B silently skipped its next changes.
  it('refuses a database whose progress was written from another topic, and leaves it untouched', async () => {
    await using ctx = await PipelineContext.open();
    const url = await ctx.createExternalDatabase();
    const owner = new PostgresTarget({ connection: externalConnectionOf(url), label: 'b/db', connectionKey: 'b/db', topic: 'topic-of-b', mappings: defaultMappings, connections });
    const intruder = new PostgresTarget({ connection: externalConnectionOf(url), label: 'a/db', connectionKey: 'a/db', topic: 'topic-of-a', mappings: defaultMappings, connections });
    try {
      await owner.prepare();
      await owner.apply([userEvent(0, 'aaaaaaaa-aaaa-4aaa-8aaa-aaaaaaaaaaaa', 'of-b')], { fetchedFrom: 0n, through: 0n, resumedFrom: -1n });
      const snapshot = () =>
        withClient(url, async (client) => ({
          users: (await client.query('SELECT id, display_name FROM users ORDER BY id')).rows,
          progress: (await client.query('SELECT mapping_name, last_synced_sequence_id::int AS n, source_topic FROM _stack_sync_metadata ORDER BY 1')).rows,
        }));
      const before = await snapshot();
      await expect(intruder.prepare()).rejects.toBeInstanceOf(ForeignProgressError);
      await expect(
        intruder.apply([userEvent(7, 'cccccccc-cccc-4ccc-8ccc-cccccccccccc', 'of-a')], { fetchedFrom: 0n, through: 7n, resumedFrom: -1n }),
      ).rejects.toBeInstanceOf(ForeignProgressError);
      expect(await snapshot()).toEqual(before);
      expect(before.progress.map((row) => row.source_topic)).toEqual(['topic-of-b', 'topic-of-b']);
      // The owner goes on from where it was.
      expect(await owner.apply([userEvent(1, 'bbbbbbbb-bbbb-4bbb-8bbb-bbbbbbbbbbbb', 'b1')], { fetchedFrom: 1n, through: 1n, resumedFrom: 0n })).toEqual({ applied: 1, appliedOffset: 1n, coveredThrough: 1n });
    } finally {
      await owner.close();
      await intruder.close();
    }
  });

  it('counts the users table on its own idle connection only, read-only: counted, then missing', async () => {
    await using ctx = await PipelineContext.open();
    const url = await ctx.createExternalDatabase();
    const target = new PostgresTarget({ connection: externalConnectionOf(url), label: 'test/db', connectionKey: 'test/db', topic: 'topic', mappings: defaultMappings, connections });
    try {
      // No connection of its own yet: a count opens none.
      const openBefore = connections.openCount;
      expect(await target.measureUsersTable()).toBeUndefined();
      expect(connections.openCount).toBe(openBefore);
      await target.prepare();
      expect(await target.measureUsersTable()).toEqual({ exists: true, totalRows: 0, estimated: false });
      await target.apply([userEvent(0, 'aaaaaaaa-aaaa-4aaa-8aaa-aaaaaaaaaaaa', 'a'), userEvent(1, 'bbbbbbbb-bbbb-4bbb-8bbb-bbbbbbbbbbbb', 'b')], { fetchedFrom: 0n, through: 1n, resumedFrom: -1n });
      await withClient(url, (client) => client.query(`INSERT INTO users (id, signed_up_at) VALUES (gen_random_uuid(), now())`));
      expect(await target.measureUsersTable()).toEqual({ exists: true, totalRows: 3, estimated: false });
      // The count leaves nothing behind: the next apply finds its connection outside any transaction.
      expect(await target.apply([userEvent(2, 'cccccccc-cccc-4ccc-8ccc-cccccccccccc', 'c')], { fetchedFrom: 2n, through: 2n, resumedFrom: 1n })).toMatchObject({ applied: 1 });
      expect(await target.measureUsersTable()).toEqual({ exists: true, totalRows: 4, estimated: false });
      await withClient(url, (client) => client.query('DROP TABLE users'));
      expect(await target.measureUsersTable()).toEqual({ exists: false, totalRows: 0, estimated: false });
    } finally {
      await target.close();
    }
  });
});
