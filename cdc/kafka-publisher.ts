import type { Producer } from 'kafkajs';
import type { TopicRecord } from './envelope';
import type { TenantTopics } from './tenant-topics';

/**
 * Bytes of records per produce request. The broker refuses a record batch over its
 * `message.max.bytes` (1 MiB by default), and one big transaction easily exceeds that, so a
 * transaction's records go out in requests of at most this size, one after another.
 */
export const maxRequestBytes = 512 * 1024;

// Per-record framing in a v2 record batch is at most a few dozen bytes; stay on the safe side.
const recordOverheadBytes = 64;

/** Splits records, in order, into runs whose estimated size stays under `maxBytes` (a lone larger record gets its own run). */
export function chunkBySize(records: readonly TopicRecord[], maxBytes: number): TopicRecord[][] {
  const chunks: TopicRecord[][] = [];
  let current: TopicRecord[] = [];
  let size = 0;
  for (const record of records) {
    const recordSize = Buffer.byteLength(record.key) + (record.value === null ? 0 : Buffer.byteLength(record.value)) + recordOverheadBytes;
    if (current.length > 0 && size + recordSize > maxBytes) {
      chunks.push(current);
      current = [];
      size = 0;
    }
    current.push(record);
    size += recordSize;
  }
  if (current.length > 0) chunks.push(current);
  return chunks;
}

/**
 * Publishes a transaction's records and resolves only when Kafka has acknowledged all of them on
 * every in-sync replica (acks=all) through the idempotent producer, so retries never duplicate or
 * reorder within a partition. Chunks are sent one after another, which keeps statement order.
 */
export class KafkaPublisher {
  constructor(
    private readonly producer: Producer,
    private readonly topics: TenantTopics,
  ) {}

  async publish(records: readonly TopicRecord[]): Promise<void> {
    if (records.length === 0) return;
    await this.topics.ensure(new Set(records.map((record) => record.topic)));
    for (const chunk of chunkBySize(records, maxRequestBytes)) {
      const byTopic = new Map<string, { key: string; value: string | null }[]>();
      for (const record of chunk) {
        let messages = byTopic.get(record.topic);
        if (!messages) byTopic.set(record.topic, (messages = []));
        messages.push({ key: record.key, value: record.value });
      }
      await this.producer.sendBatch({
        acks: -1,
        topicMessages: [...byTopic].map(([topic, messages]) => ({ topic, messages })),
      });
    }
  }
}
