import { describe, expect, it } from 'vitest';
import type { TopicRecord } from './envelope';
import { chunkBySize } from './kafka-publisher';

const record = (key: string, bytes: number): TopicRecord => ({ topic: 't', tenancyId: 'x', key, value: 'v'.repeat(bytes) });

describe('chunkBySize', () => {
  it('keeps order and stays under the budget', () => {
    const records = Array.from({ length: 100 }, (_, index) => record(`k${index}`, 1_000));
    const chunks = chunkBySize(records, 10_000);
    expect(chunks.flat()).toEqual(records);
    expect(chunks.length).toBeGreaterThan(9);
    for (const chunk of chunks) expect(chunk.reduce((sum, item) => sum + item.key.length + item.value!.length + 64, 0)).toBeLessThanOrEqual(10_000);
  });

  it('gives an oversized record a request of its own, and counts tombstones as small', () => {
    const chunks = chunkBySize([record('a', 10), record('big', 50_000), { topic: 't', tenancyId: 'x', key: 'a', value: null }], 10_000);
    expect(chunks.map((chunk) => chunk.map((item) => item.key))).toEqual([['a'], ['big'], ['a']]);
  });

  it('makes no chunks of nothing', () => {
    expect(chunkBySize([], 10)).toEqual([]);
  });
});
