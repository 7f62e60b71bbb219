import { describe, expect, it } from 'vitest';
import type { TopicRecord } from './envelope';
import { PublishPipeline, type TransactionalTarget } from './publish-pipeline';

const records = (key: string, bytes = 10): TopicRecord[] => [{ topic: 't', tenancyId: 'x', key, value: 'v'.repeat(bytes) }];

type Call = { kind: 'send'; keys: string[] } | { kind: 'commit'; position: bigint };

/** A Kafka stand-in whose sends and commits the test completes by hand, to hold them "in flight". */
function controllableTarget() {
  const calls: (Call & { release: () => void; fail: (error: Error) => void })[] = [];
  const hold = (call: Call) => new Promise<void>((resolve, reject) => calls.push({ ...call, release: resolve, fail: reject }));
  const target: TransactionalTarget = {
    send: (batch) => hold({ kind: 'send', keys: batch.map((record) => record.key) }),
    commit: (position) => hold({ kind: 'commit', position }),
  };
  const log = () => calls.map(({ release: _release, fail: _fail, ...call }) => call);
  return { calls, target, log };
}

const tick = async () => {
  for (let index = 0; index < 5; index++) await new Promise((resolve) => setImmediate(resolve));
};

describe('PublishPipeline', () => {
  it('groups the transactions that commit while a send is in flight into one Kafka transaction, keeping order', async () => {
    const { calls, target, log } = controllableTarget();
    // A clock that stands still: the Kafka transaction never counts as open for long.
    const pipeline = new PublishPipeline(target, { now: () => 0 });
    const first = await pipeline.submit(records('a'), 1n);
    const second = await pipeline.submit(records('b'), 2n);
    const third = await pipeline.submit(records('c'), 3n);
    await tick();
    expect(log()).toEqual([{ kind: 'send', keys: ['a'] }]);
    calls[0]!.release();
    await tick();
    // b and c queued meanwhile: they join the open Kafka transaction before it commits.
    expect(log()).toEqual([
      { kind: 'send', keys: ['a'] },
      { kind: 'send', keys: ['b', 'c'] },
    ]);
    let firstDurable = false;
    void first.durable.then(() => (firstDurable = true));
    calls[1]!.release();
    await tick();
    expect(log().at(-1)).toEqual({ kind: 'commit', position: 3n });
    expect(firstDurable).toBe(false);
    calls[2]!.release();
    await Promise.all([first.durable, second.durable, third.durable]);
  });

  it('streams a transaction in segments and commits only after its last one', async () => {
    const { calls, target, log } = controllableTarget();
    const pipeline = new PublishPipeline(target);
    const part1 = await pipeline.submit(records('t1'));
    await tick();
    calls[0]!.release();
    await tick();
    const part2 = await pipeline.submit(records('t2'));
    await tick();
    calls[1]!.release();
    await tick();
    // Both segments are in Kafka, uncommitted; nothing is durable yet.
    expect(log()).toEqual([
      { kind: 'send', keys: ['t1'] },
      { kind: 'send', keys: ['t2'] },
    ]);
    let durable = false;
    void Promise.all([part1.durable, part2.durable]).then(() => (durable = true));
    const last = await pipeline.submit(records('t3'), 7n);
    await tick();
    calls[2]!.release();
    await tick();
    expect(log().at(-1)).toEqual({ kind: 'commit', position: 7n });
    expect(durable).toBe(false);
    calls[3]!.release();
    await Promise.all([part1.durable, part2.durable, last.durable]);
  });

  it('needs no Kafka transaction for transactions without records', async () => {
    const { target, log } = controllableTarget();
    const pipeline = new PublishPipeline(target);
    const heartbeat = await pipeline.submit([], 5n);
    await heartbeat.durable;
    expect(log()).toEqual([]);
  });

  it('fails the open Kafka transaction and everything after it, and refuses new work', async () => {
    const { calls, target } = controllableTarget();
    const pipeline = new PublishPipeline(target);
    const first = await pipeline.submit(records('a'));
    await tick();
    calls[0]!.release();
    await tick();
    const second = await pipeline.submit(records('b'), 2n);
    const third = await pipeline.submit(records('c'), 3n);
    await tick();
    calls[1]!.fail(new Error('broker gone'));
    await expect(first.durable).rejects.toThrow('broker gone');
    await expect(second.durable).rejects.toThrow('broker gone');
    await expect(third.durable).rejects.toThrow('broker gone');
    await expect(pipeline.submit(records('d'), 4n)).rejects.toThrow('broker gone');
    expect(calls).toHaveLength(2);
  });

  it('settles a submit waiting for room when the Kafka commit fails (it used to wait forever)', async () => {
    // A standby fencing our transactional id fails the commit while the reader is parked for room.
    const { calls, target } = controllableTarget();
    const pipeline = new PublishPipeline(target, { maxQueuedBytes: 100, maxSendBytes: 1_000, now: () => 0 });
    const first = await pipeline.submit(records('a', 60), 1n);
    await tick();
    calls[0]!.release();
    await tick();
    // `a` is sent; its commit is in flight. `b` queues, `c` has no room.
    expect(calls.at(-1)).toMatchObject({ kind: 'commit', position: 1n });
    const second = await pipeline.submit(records('b', 60), 2n);
    let parked: 'waiting' | 'admitted' | 'refused' = 'waiting';
    const third = pipeline.submit(records('c', 60), 3n).then(
      () => (parked = 'admitted'),
      () => (parked = 'refused'),
    );
    await tick();
    expect(parked).toBe('waiting');
    calls.at(-1)!.fail(new Error('fenced by a newer incarnation'));
    await tick();
    expect(parked).toBe('refused');
    await third;
    await expect(first.durable).rejects.toThrow('fenced');
    await expect(second.durable).rejects.toThrow('fenced');
  });

  it('applies backpressure by bytes, counting what is being sent', async () => {
    const { calls, target } = controllableTarget();
    const pipeline = new PublishPipeline(target, { maxQueuedBytes: 100, maxSendBytes: 1_000 });
    const first = await pipeline.submit(records('a', 60), 1n);
    await tick();
    let admitted = false;
    const second = pipeline.submit(records('b', 60), 2n).then((handle) => {
      admitted = true;
      return handle;
    });
    await tick();
    // 60 bytes being sent + 60 more would pass the 100-byte bound: the reader waits here.
    expect(admitted).toBe(false);
    calls[0]!.release();
    await tick();
    expect(admitted).toBe(true);
    for (const call of calls.slice(1)) call.release();
    await tick();
    for (const call of calls.slice(1)) call.release();
    await first.durable;
    await tick();
    for (const call of calls) call.release();
    await (await second).durable;
  });

  it('offer queues at once when there is room, and refuses (queuing nothing) while the queue is full or a submit still waits', async () => {
    const { calls, target, log } = controllableTarget();
    const pipeline = new PublishPipeline(target, { maxQueuedBytes: 100, maxSendBytes: 1_000, now: () => 0 });
    const first = pipeline.offer(records('a', 60), 1n);
    expect(first).toBeDefined();
    await tick();
    expect(pipeline.offer(records('b', 60), 2n)).toBeUndefined();
    const second = pipeline.submit(records('b', 60), 2n);
    // 60 + 10 bytes would fit, but b waits for room: taking c now would overtake it.
    expect(pipeline.offer(records('c', 10), 3n)).toBeUndefined();
    calls[0]!.release();
    await tick();
    const third = pipeline.offer(records('c', 10), 3n);
    expect(third).toBeDefined();
    for (let round = 0; round < 4; round++) {
      for (const call of calls) call.release();
      await tick();
    }
    await first!.durable;
    await (await second).durable;
    await third!.durable;
    const sent = log().flatMap((call) => (call.kind === 'send' ? call.keys : []));
    expect(sent).toEqual(['a', 'b', 'c']);
  });

  it('close waits for the send under way, then fails what could not commit: a transaction sent together with the first part of the next one', async () => {
    const { calls, target, log } = controllableTarget();
    const pipeline = new PublishPipeline(target, { now: () => 0 });
    pipeline.offer(records('t0'), 0n);
    // Queued while t0 is being sent: t1 and the start of a big transaction go out in one send,
    // whose last records end no transaction, so nothing commits until that transaction's end.
    const first = pipeline.offer(records('t1'), 1n)!;
    const secondStart = pipeline.offer(records('t2-part1'))!;
    let firstOutcome: unknown = 'pending';
    first.durable.then(
      () => (firstOutcome = 'durable'),
      (error: unknown) => (firstOutcome = error),
    );
    calls[0]!.release();
    await tick();
    // Stuck until the big transaction's end, which a stopped stream never delivers.
    expect(firstOutcome).toBe('pending');
    let closed = false;
    const closing = pipeline.close().then(() => (closed = true));
    await tick();
    // The second send is still in flight: close must not return while it may still use the producer.
    expect(closed).toBe(false);
    calls[1]!.release();
    await closing;
    await tick();
    expect(log()).toEqual([
      { kind: 'send', keys: ['t0'] },
      { kind: 'send', keys: ['t1', 't2-part1'] },
    ]);
    expect(firstOutcome).toBeInstanceOf(Error);
    await expect(secondStart.durable).rejects.toThrow('replication stream ended');
    await expect(pipeline.submit(records('t3'), 3n)).rejects.toThrow('replication stream ended');
  });

  it('close sends nothing more: records queued behind the send under way are failed, not sent', async () => {
    const { calls, target, log } = controllableTarget();
    const pipeline = new PublishPipeline(target, { now: () => 0 });
    pipeline.offer(records('t0'), 0n);
    const queued = pipeline.offer(records('t1'), 1n)!;
    const closing = pipeline.close();
    calls[0]!.release();
    await closing;
    await expect(queued.durable).rejects.toThrow('replication stream ended');
    expect(log()).toEqual([{ kind: 'send', keys: ['t0'] }]);
  });

  it('commits a Kafka transaction open for commitAfterMs at the next transaction end, even while more is queued', async () => {
    const { calls, target, log } = controllableTarget();
    let clock = 0;
    const pipeline = new PublishPipeline(target, { commitAfterMs: 10, now: () => clock });
    await pipeline.submit(records('a'), 1n);
    await tick();
    await pipeline.submit(records('b'), 2n);
    await pipeline.submit(records('c'), 3n);
    clock = 4;
    calls[0]!.release();
    await tick();
    // Opened at 0, 4 ms ago: b and c join it.
    expect(log()).toEqual([
      { kind: 'send', keys: ['a'] },
      { kind: 'send', keys: ['b', 'c'] },
    ]);
    const fourth = await pipeline.submit(records('d'), 4n);
    clock = 12;
    calls[1]!.release();
    await tick();
    // 12 ms open: it commits at c although d waits; d starts the next Kafka transaction.
    expect(log().at(-1)).toEqual({ kind: 'commit', position: 3n });
    calls[2]!.release();
    await tick();
    expect(log().at(-1)).toEqual({ kind: 'send', keys: ['d'] });
    calls[3]!.release();
    await tick();
    expect(log().at(-1)).toEqual({ kind: 'commit', position: 4n });
    calls[4]!.release();
    await fourth.durable;
  });

  it('commits a Kafka transaction holding commitAfterBytes at the next transaction end, even while more is queued', async () => {
    const { calls, target, log } = controllableTarget();
    const pipeline = new PublishPipeline(target, { commitAfterBytes: 100, maxSendBytes: 60, now: () => 0 });
    await pipeline.submit(records('a', 50), 1n);
    await pipeline.submit(records('b', 50), 2n);
    await pipeline.submit(records('c', 50), 3n);
    await pipeline.submit(records('d', 50), 4n);
    for (let step = 0; step < 3; step++) {
      await tick();
      calls.at(-1)!.release();
    }
    await tick();
    // 51 + 51 bytes sent reach 100: the Kafka transaction commits at b, c and d wait for the next.
    expect(log()).toEqual([
      { kind: 'send', keys: ['a'] },
      { kind: 'send', keys: ['b'] },
      { kind: 'commit', position: 2n },
      { kind: 'send', keys: ['c'] },
    ]);
  });

  it('ends a send at the first transaction end once the Kafka transaction holds commitAfterBytes, so it can commit there', async () => {
    const { calls, target, log } = controllableTarget();
    const pipeline = new PublishPipeline(target, { commitAfterBytes: 100, maxSendBytes: 1_000, now: () => 0 });
    await pipeline.submit(records('x'), 1n);
    await tick();
    // Two transactions of two segments each queue up behind x's send.
    await pipeline.submit(records('a1', 50));
    await pipeline.submit(records('a2', 50), 2n);
    await pipeline.submit(records('b1', 50));
    const last = await pipeline.submit(records('b2', 50), 3n);
    calls[0]!.release();
    await tick();
    calls[1]!.release();
    await tick();
    expect(log()).toEqual([
      { kind: 'send', keys: ['x'] },
      { kind: 'send', keys: ['a1', 'a2'] },
      { kind: 'commit', position: 2n },
    ]);
    calls[2]!.release();
    await tick();
    expect(log().at(-1)).toEqual({ kind: 'send', keys: ['b1', 'b2'] });
    calls[3]!.release();
    await tick();
    calls[4]!.release();
    await last.durable;
  });
});
