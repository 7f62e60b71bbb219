import { describe, expect, it } from 'vitest';
import type { TopicRecord } from './envelope';
import { PublishPipeline } from './publish-pipeline';

const records = (key: string, bytes = 10): TopicRecord[] => [{ topic: 't', tenancyId: 'x', key, value: 'v'.repeat(bytes) }];

/** A publish function the test releases by hand, to hold a request "in flight". */
function controllablePublish() {
  const calls: { keys: string[]; position: bigint; release: () => void; fail: (error: Error) => void }[] = [];
  const publish = (batch: readonly TopicRecord[], position: bigint) =>
    new Promise<void>((resolve, reject) => calls.push({ keys: batch.map((record) => record.key), position, release: resolve, fail: reject }));
  return { calls, publish };
}

const tick = () => new Promise((resolve) => setImmediate(resolve));

describe('PublishPipeline', () => {
  it('groups what commits while a request is in flight, keeping order', async () => {
    const { calls, publish } = controllablePublish();
    const pipeline = new PublishPipeline(publish);
    const first = await pipeline.submit(records('a'), 1n);
    const second = await pipeline.submit(records('b'), 2n);
    const third = await pipeline.submit(records('c'), 3n);
    await tick();
    expect(calls.map((call) => call.keys)).toEqual([['a']]);
    let secondDurable = false;
    void second.durable.then(() => (secondDurable = true));
    calls[0]!.release();
    await first.durable;
    await tick();
    expect(secondDurable).toBe(false);
    expect(calls.map((call) => call.keys)).toEqual([['a'], ['b', 'c']]);
    // A group carries the position after its last transaction.
    expect(calls.map((call) => call.position)).toEqual([1n, 3n]);
    calls[1]!.release();
    await Promise.all([second.durable, third.durable]);
  });

  it('fails the request and everything after it, and refuses new work', async () => {
    const { calls, publish } = controllablePublish();
    const pipeline = new PublishPipeline(publish);
    const first = await pipeline.submit(records('a'), 1n);
    const second = await pipeline.submit(records('b'), 2n);
    await tick();
    calls[0]!.fail(new Error('broker gone'));
    await expect(first.durable).rejects.toThrow('broker gone');
    await expect(second.durable).rejects.toThrow('broker gone');
    await expect(pipeline.submit(records('c'), 3n)).rejects.toThrow('broker gone');
    expect(calls).toHaveLength(1);
  });

  it('applies backpressure by bytes, counting what is in flight', async () => {
    const { calls, publish } = controllablePublish();
    const pipeline = new PublishPipeline(publish, 100, 1_000);
    const first = await pipeline.submit(records('a', 60), 1n);
    await tick();
    let admitted = false;
    const second = pipeline.submit(records('b', 60), 2n).then((handle) => {
      admitted = true;
      return handle;
    });
    await tick();
    // 60 bytes in flight + 60 more would pass the 100-byte bound: the reader waits here.
    expect(admitted).toBe(false);
    calls[0]!.release();
    await first.durable;
    await tick();
    expect(admitted).toBe(true);
    await tick();
    calls[1]!.release();
    await (await second).durable;
  });
});
