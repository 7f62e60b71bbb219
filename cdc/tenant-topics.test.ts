import { ConfigResourceTypes, Kafka, logLevel, type Admin } from 'kafkajs';
import { describe, expect, it } from 'vitest';
import { testServices, uniqueName } from '../e2e/harness/test-services';
import { TenantTopics } from './tenant-topics';

/** Counts the admin calls TenantTopics makes, to show the cache keeps it from asking again. */
function countingAdmin(admin: Admin): { admin: Admin; calls: () => number } {
  let calls = 0;
  const counted = new Proxy(admin, {
    get(target, property, receiver) {
      const value: unknown = Reflect.get(target, property, receiver);
      if (typeof value !== 'function' || !['listTopics', 'createTopics', 'fetchTopicMetadata'].includes(String(property))) return value;
      return (...args: unknown[]) => {
        calls++;
        return (value as (...inner: unknown[]) => unknown).apply(target, args);
      };
    },
  });
  return { admin: counted, calls: () => calls };
}

describe('TenantTopics (real Kafka)', () => {
  it('creates hundreds of new topics at once, compacted and with leaders, and never asks again for known ones', async () => {
    const kafka = new Kafka({ brokers: [testServices().kafkaBrokers], logLevel: logLevel.NOTHING });
    const admin = kafka.admin();
    await admin.connect();
    try {
      const prefix = uniqueName('topics');
      const topics = Array.from({ length: 450 }, (_, index) => `${prefix}.${index}`);
      const { admin: counted, calls } = countingAdmin(admin);
      const tenantTopics = new TenantTopics(counted, 1);
      // Two overlapping requests at once: each topic is created once.
      await Promise.all([tenantTopics.ensure(topics.slice(0, 300)), tenantTopics.ensure(topics.slice(150))]);

      const metadata = await admin.fetchTopicMetadata({ topics });
      expect(metadata.topics).toHaveLength(450);
      for (const topic of metadata.topics) {
        expect(topic.partitions).toHaveLength(1);
        expect(topic.partitions[0]?.leader).toBeGreaterThanOrEqual(0);
      }
      const configs = await admin.describeConfigs({ includeSynonyms: false, resources: [{ type: ConfigResourceTypes.TOPIC, name: topics[449] ?? '', configNames: ['cleanup.policy'] }] });
      expect(configs.resources[0]?.configEntries[0]?.configValue).toBe('compact');

      const afterCreation = calls();
      await tenantTopics.ensure(topics);
      expect(calls()).toBe(afterCreation);
      await admin.deleteTopics({ topics });
    } finally {
      await admin.disconnect();
    }
  });
});
