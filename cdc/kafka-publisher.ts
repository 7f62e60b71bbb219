import type { Producer } from 'kafkajs';
import type { TopicRecord } from './envelope';
import type { TenantTopics } from './tenant-topics';

/**
 * Publishes a transaction's records and resolves only when Kafka has acknowledged all of them on
 * every in-sync replica (acks=all) through the idempotent producer, so retries never duplicate or
 * reorder within a partition.
 */
export class KafkaPublisher {
  constructor(
    private readonly producer: Producer,
    private readonly topics: TenantTopics,
  ) {}

  async publish(records: readonly TopicRecord[]): Promise<void> {
    if (records.length === 0) return;
    const byTopic = new Map<string, { key: string; value: string | null }[]>();
    for (const record of records) {
      let messages = byTopic.get(record.topic);
      if (!messages) byTopic.set(record.topic, (messages = []));
      messages.push({ key: record.key, value: record.value });
    }
    await this.topics.ensure(byTopic.keys());
    await this.producer.sendBatch({
      acks: -1,
      topicMessages: [...byTopic].map(([topic, messages]) => ({ topic, messages })),
    });
  }
}
