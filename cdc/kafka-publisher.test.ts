import { describe, expect, it } from 'vitest';
import type { TopicRecord } from './envelope';
import { chunkBySize, produceRequests } from './kafka-publisher';

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

describe('produceRequests', () => {
  const on = (topic: string, key: string, bytes = 100): TopicRecord => ({ topic, tenancyId: topic, key, value: 'v'.repeat(bytes) });

  it('gives each topic one run per request, keeping every topic’s order', () => {
    const records = [on('a', 'a1'), on('b', 'b1'), on('a', 'a2'), on('c', 'c1'), on('b', 'b2'), on('a', 'a3')];
    expect(produceRequests(records, 10_000)).toEqual([
      [
        { topic: 'a', messages: ['a1', 'a2', 'a3'].map((key) => ({ key, value: 'v'.repeat(100), partition: 0 })) },
        { topic: 'b', messages: ['b1', 'b2'].map((key) => ({ key, value: 'v'.repeat(100), partition: 0 })) },
        { topic: 'c', messages: [{ key: 'c1', value: 'v'.repeat(100), partition: 0 }] },
      ],
    ]);
  });

  it('splits into requests under the budget, a topic’s records in order across them', () => {
    const records = Array.from({ length: 60 }, (_, index) => on(index % 3 === 0 ? 'a' : 'b', `k${index}`, 1_000));
    const requests = produceRequests(records, 10_000, 4_000);
    expect(requests.length).toBeGreaterThan(5);
    for (const request of requests) {
      const bytes = request.flatMap((entry) => entry.messages).reduce((total, message) => total + message.key.length + (message.value?.length ?? 0) + 64, 0);
      expect(bytes).toBeLessThanOrEqual(10_000);
      // A topic appears at most once per request, under its own budget.
      expect(new Set(request.map((entry) => entry.topic)).size).toBe(request.length);
      for (const entry of request) expect(entry.messages.reduce((total, message) => total + message.key.length + (message.value?.length ?? 0) + 64, 0)).toBeLessThanOrEqual(4_000);
    }
    for (const topic of ['a', 'b']) {
      const sent = requests.flatMap((request) => request.filter((entry) => entry.topic === topic).flatMap((entry) => entry.messages.map((message) => message.key)));
      expect(sent).toEqual(records.filter((record) => record.topic === topic).map((record) => record.key));
    }
  });
});
