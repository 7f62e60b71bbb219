import { describe, expect, it } from 'vitest';
import { DurabilityQueue } from './durability-queue';

describe('DurabilityQueue', () => {
  it('gives the end of the durable prefix only: a later commit that is durable first waits for the earlier ones', () => {
    const queue = new DurabilityQueue();
    const first = queue.add(10n);
    const second = queue.add(20n);
    const third = queue.add(30n);
    second.durable = true;
    third.durable = true;
    expect(queue.takeDurable()).toBeUndefined();
    expect(queue.size).toBe(3);
    first.durable = true;
    expect(queue.takeDurable()).toBe(30n);
    expect(queue.size).toBe(0);
    expect(queue.takeDurable()).toBeUndefined();
  });

  it('keeps its order across many entries (compaction)', () => {
    const queue = new DurabilityQueue();
    const entries = Array.from({ length: 5_000 }, (_, index) => queue.add(BigInt(index + 1)));
    for (let index = 0; index < 4_000; index++) entries[index]!.durable = true;
    expect(queue.takeDurable()).toBe(4_000n);
    const more = queue.add(5_001n);
    more.durable = true;
    expect(queue.takeDurable()).toBeUndefined();
    for (const entry of entries.slice(4_000)) entry.durable = true;
    expect(queue.takeDurable()).toBe(5_001n);
    expect(queue.size).toBe(0);
  });
});
