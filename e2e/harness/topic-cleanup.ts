import { kafkaClient } from '../../infra/runtime/kafka-client';

/**
 * Deletes every topic whose name starts with one of `prefixes` (in requests of 500): tests and
 * benchmarks clean up after themselves, since a broker with thousands of idle partitions is slower
 * at everything, which would distort timing tests.
 */
export async function deleteTopicsWithPrefix(brokers: string[], prefixes: readonly string[]): Promise<void> {
  const admin = kafkaClient(brokers, 'topic-cleanup').admin();
  await admin.connect();
  try {
    const topics = (await admin.listTopics()).filter((topic) => prefixes.some((prefix) => topic.startsWith(prefix)));
    for (let start = 0; start < topics.length; start += 500) await admin.deleteTopics({ topics: topics.slice(start, start + 500) });
  } finally {
    await admin.disconnect();
  }
}
