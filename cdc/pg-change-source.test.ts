import { describe, expect, it } from 'vitest';
import { waitFor } from '../infra/wait-for';
import { PipelineContext } from '../e2e/harness/pipeline-context';
import type { SourceSegment } from './change-source';
import { parseLsn } from './lsn';
import { PgChangeSource } from './pg-change-source';

async function confirmedFlush(ctx: PipelineContext): Promise<bigint> {
  const result = await ctx.internal.query<{ lsn: string }>('SELECT confirmed_flush_lsn::text AS lsn FROM pg_replication_slots WHERE slot_name = $1', [ctx.name]);
  return parseLsn(result.rows[0]!.lsn);
}

async function insertUser(ctx: PipelineContext, tenancyId: string, name: string): Promise<void> {
  await ctx.internal.query(`INSERT INTO "ProjectUser" ("tenancyId", "projectUserId", "displayName") VALUES ($1, gen_random_uuid(), $2)`, [tenancyId, name]);
}

/** A project and a prepared change source on the context's slot, with the slot's starting position. */
async function preparedSource(ctx: PipelineContext, connectionString = ctx.config.DATABASE_URL) {
  const project = await ctx.createProject();
  const source = new PgChangeSource({ connectionString, slot: ctx.name, publication: 'stack_sync' });
  const start = await source.prepare();
  return { project, source, start };
}

describe('PgChangeSource (real Postgres logical replication)', () => {
  // pg-logical-replication acknowledges the last *received* LSN every 10 s unless told not to;
  // this holds a transaction unpublished for longer than that and checks the slot never moves.
  it('never confirms a transaction that was not consumed, and delivers it again', async () => {
    await using ctx = await PipelineContext.open();
    const { project, source, start } = await preparedSource(ctx);
    const controller = new AbortController();
    let release: (error: Error) => void = () => undefined;
    const held: SourceSegment[] = [];
    const streaming = source.stream(async (transaction) => {
      held.push(transaction);
      // Taken in at once, but never durable until the test says how it ends.
      return {
        durable: new Promise<void>((_, reject) => {
          release = reject;
        }),
      };
    }, controller.signal);
    await insertUser(ctx, project.tenancyId, 'held');
    await waitFor('the transaction to arrive', async () => held.length === 1);

    const holdUntil = Date.now() + 11_500;
    while (Date.now() < holdUntil) {
      expect(await confirmedFlush(ctx)).toBe(start);
      await new Promise((resolve) => setTimeout(resolve, 500));
    }
    release(new Error('publish failed'));
    await expect(streaming).rejects.toThrow('publish failed');
    expect(await confirmedFlush(ctx)).toBe(start);

    const delivered: SourceSegment[] = [];
    const again = new AbortController();
    const second = source.stream(async (transaction) => {
      delivered.push(transaction);
      return { durable: Promise.resolve() };
    }, again.signal);
    await waitFor('the redelivery', async () => delivered.length === 1);
    expect(delivered[0]?.xid).toBe(held[0]?.xid);
    expect(delivered[0]?.changes[0]?.after).toMatchObject({ displayName: 'held' });
    await waitFor('the slot to confirm the commit', async () => (await confirmedFlush(ctx)) >= delivered[0]!.commitEndLsn!);
    again.abort();
    await second;
    await source.close();
  });

  // A commit record often starts exactly where the previous one ends (two sessions committing
  // together): a slot confirmed one byte too far skips that next transaction on the next start.
  it('confirms the slot exactly at the end of the last durable commit record, never a byte further', async () => {
    await using ctx = await PipelineContext.open();
    const { project, source, start } = await preparedSource(ctx);
    const controller = new AbortController();
    const delivered: SourceSegment[] = [];
    const streaming = source.stream(async (transaction) => {
      delivered.push(transaction);
      return { durable: Promise.resolve() };
    }, controller.signal);
    await insertUser(ctx, project.tenancyId, 'one');
    await waitFor('the slot to confirm the transaction', async () => delivered.length === 1 && (await confirmedFlush(ctx)) !== start);
    expect(await confirmedFlush(ctx)).toBe(delivered[0]!.commitEndLsn);
    controller.abort();
    await streaming;
    await source.close();
  });

  it('answers keepalives, so a quiet stream outlives wal_sender_timeout', async () => {
    await using ctx = await PipelineContext.open();
    const project = await ctx.createProject();
    // A 2 s timeout makes Postgres ask for replies every second and hang up 2 s after a missed one.
    const url = new URL(ctx.config.DATABASE_URL);
    url.searchParams.set('options', '-c wal_sender_timeout=2s');
    const source = new PgChangeSource({ connectionString: url.toString(), slot: ctx.name, publication: 'stack_sync' });
    await source.prepare();
    const controller = new AbortController();
    const delivered: SourceSegment[] = [];
    let ended = false;
    const streaming = source
      .stream(async (transaction) => {
        delivered.push(transaction);
        return { durable: Promise.resolve() };
      }, controller.signal)
      .finally(() => {
        ended = true;
      });
    await insertUser(ctx, project.tenancyId, 'first');
    await waitFor('the first transaction', async () => delivered.length === 1);
    const quietUntil = Date.now() + 6_000;
    while (Date.now() < quietUntil) {
      expect(ended).toBe(false);
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
    await insertUser(ctx, project.tenancyId, 'after the quiet');
    await waitFor('the second transaction on the same connection', async () => delivered.length === 2);
    controller.abort();
    await streaming;
    await source.close();
  });

  // The reader takes most transactions in at once (no promise) and sometimes waits for room: the
  // source must keep commit order across both, and confirm only what is durable with all before it.
  it('keeps commit order when a hand-over waits, and confirms only the durable prefix', async () => {
    await using ctx = await PipelineContext.open();
    const { project, source, start } = await preparedSource(ctx);
    const controller = new AbortController();
    const delivered: SourceSegment[] = [];
    const durable = new Map<string, () => void>();
    let room: () => void = () => undefined;
    const roomFreed = new Promise<void>((resolve) => {
      room = resolve;
    });
    const receiptFor = (segment: SourceSegment) => {
      const name = String(segment.changes[0]?.after?.displayName);
      return { durable: new Promise<void>((resolve) => durable.set(name, resolve)) };
    };
    const streaming = source.stream((segment) => {
      delivered.push(segment);
      // The second transaction finds the queue full: taken in only once the test frees room.
      if (delivered.length === 2) return roomFreed.then(() => receiptFor(segment));
      return receiptFor(segment);
    }, controller.signal);
    const names = ['t1', 't2', 't3', 't4', 't5'];
    for (const name of names) await insertUser(ctx, project.tenancyId, name);
    await waitFor('the first two transactions', async () => delivered.length === 2);
    // Nothing after the waiting hand-over is delivered meanwhile.
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(delivered.length).toBe(2);
    room();
    await waitFor('every transaction', async () => delivered.length === names.length);
    expect(delivered.map((segment) => segment.changes[0]?.after?.displayName)).toEqual(names);
    // Later transactions durable first: the slot must not move past t1 while t1 is not.
    for (const name of ['t2', 't3', 't5']) durable.get(name)!();
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(await confirmedFlush(ctx)).toBe(start);
    durable.get('t1')!();
    await waitFor('the slot to confirm t1 to t3', async () => (await confirmedFlush(ctx)) === delivered[2]!.commitEndLsn);
    durable.get('t4')!();
    await waitFor('the slot to confirm all', async () => (await confirmedFlush(ctx)) === delivered[4]!.commitEndLsn);
    controller.abort();
    await streaming;
    await source.close();
  });
});
