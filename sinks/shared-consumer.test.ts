import { Kafka, logLevel } from 'kafkajs';
import { describe, expect, it } from 'vitest';
import { testServices, uniqueName } from '../e2e/harness/test-services';
import { waitFor } from '../infra/wait-for';
import { deleteTopicsWithPrefix } from '../e2e/harness/topic-cleanup';
import { SharedConsumer } from './shared-consumer';

describe('SharedConsumer (real Kafka)', () => {
  // The config poll and a crash restart could call subscribe at once: each tore down "the"
  // consumer and started its own, and the process ended up with two members in the group.
  it('runs concurrent subscribe calls one after another: one member in the group, with the last topic set', async () => {
    const kafka = new Kafka({ brokers: [testServices().kafkaBrokers], logLevel: logLevel.NOTHING });
    const prefix = uniqueName('test.t_subscribe');
    const topics = [`${prefix}.a`, `${prefix}.b`, `${prefix}.c`];
    const admin = kafka.admin();
    await admin.connect();
    const groupId = `${prefix}.group`;
    let assigned: ReadonlySet<string> = new Set();
    const consumer = new SharedConsumer({
      kafka,
      groupId,
      sessionTimeoutMs: 6_000,
      onBatch: () => undefined,
      onAssigned: (topicSet) => (assigned = topicSet),
      onSuspended: () => (assigned = new Set()),
    });
    try {
      await admin.createTopics({ topics: topics.map((topic) => ({ topic, numPartitions: 1 })), waitForLeaders: true });
      await Promise.all([consumer.subscribe(new Set([topics[0]!])), consumer.subscribe(new Set([topics[0]!, topics[1]!])), consumer.subscribe(new Set(topics))]);
      await waitFor('the last set assigned', async () => assigned.size === 3, { timeoutMs: 30_000, intervalMs: 50 });
      const described = await admin.describeGroups([groupId]);
      expect(described.groups[0]?.members).toHaveLength(1);
    } finally {
      await consumer.close();
      await admin.disconnect();
      await deleteTopicsWithPrefix([testServices().kafkaBrokers], [prefix]);
    }
  });
});
