import { describe, expect, it } from 'vitest';
import type { TopicRecord } from './envelope';
import { PublishPipeline } from './publish-pipeline';

const records = (key: string, bytes = 10): TopicRecord[] => [{ topic: 't', tenancyId: 'x', key, value: 'v'.repeat(bytes) }];

/** A publish function the test releases by hand, to hold a request "in flight". */
function controllablePublish() {
  const calls: { keys: string[]; release: () => void; fail: (error: Error) => void }[] = [];
  const publish = (batch: readonly TopicRecord[]) =>
    new Promise<void>((resolve, reject) => calls.push({ keys: batch.map((record) => record.key), release: resolve, fail: reject }));
  return { calls, publish };
}

const tick = () => new Promise((resolve) => setImmediate(resolve));

describe('PublishPipeline', () => {
  it('groups what commits while a request is in flight, keeping order', async () => {
    const { calls, publish } = controllablePublish();
    const pipeline = new PublishPipeline(publish);
    const first = await pipeline.submit(records('a'));
    const second = await pipeline.submit(records('b'));
    const third = await pipeline.submit(records('c'));
    await tick();
    expect(calls.map((call) => call.keys)).toEqual([['a']]);
    let secondDurable = false;
    void second.durable.then(() => (secondDurable = true));
    calls[0]!.release();
    await first.durable;
    await tick();
    expect(secondDurable).toBe(false);
    expect(calls.map((call) => call.keys)).toEqual([['a'], ['b', 'c']]);
    calls[1]!.release();
    await Promise.all([second.durable, third.durable]);
  });

  it('fails the request and everything after it, and refuses new work', async () => {
    const { calls, publish } = controllablePublish();
    const pipeline = new PublishPipeline(publish);
    const first = await pipeline.submit(records('a'));
    const second = await pipeline.submit(records('b'));
    await tick();
    calls[0]!.fail(new Error('broker gone'));
    await expect(first.durable).rejects.toThrow('broker gone');
    await expect(second.durable).rejects.toThrow('broker gone');
    await expect(pipeline.submit(records('c'))).rejects.toThrow('broker gone');
    expect(calls).toHaveLength(1);
  });

  it('applies backpressure by bytes, counting what is in flight', async () => {
    const { calls, publish } = controllablePublish();
    const pipeline = new PublishPipeline(publish, 100, 1_000);
    const first = await pipeline.submit(records('a', 60));
    await tick();
    let admitted = false;
    const second = pipeline.submit(records('b', 60)).then((handle) => {
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
