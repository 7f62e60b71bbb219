import type { Admin } from 'kafkajs';
import { waitFor } from '../infra/wait-for';

/** Topics per CreateTopics request. */
const createBatchSize = 200;

/**
 * Creates tenant topics on demand through the admin API (the broker never auto-creates them), with
 * `cleanup.policy=compact` so a new sink can rebuild a whole table state from offset 0. One
 * partition per tenancy: the offset is the tenant's ordered sequence id. Known topics are cached, so
 * each is created once per process.
 */
export class TenantTopics {
  readonly #known = new Set<string>();
  readonly #pending = new Map<string, Promise<void>>();

  constructor(
    private readonly admin: Admin,
    private readonly replicationFactor: number,
    /** delete.retention.ms of new tenant topics (KAFKA_TOPIC_DELETE_RETENTION_MS). */
    private readonly deleteRetentionMs: number = 7 * 24 * 3_600_000,
  ) {}

  async ensure(topics: Iterable<string>): Promise<void> {
    const waits = new Set<Promise<void>>();
    const missing: string[] = [];
    for (const topic of new Set(topics)) {
      if (this.#known.has(topic)) continue;
      const pending = this.#pending.get(topic);
      if (pending) waits.add(pending);
      else missing.push(topic);
    }
    if (missing.length > 0) {
      // One round trip for all topics new to this process (a sink starting with a thousand
      // tenancies asks once, not a thousand times).
      const creating = this.#create(missing).finally(() => {
        for (const topic of missing) this.#pending.delete(topic);
      });
      for (const topic of missing) this.#pending.set(topic, creating);
      waits.add(creating);
    }
    await Promise.all(waits);
  }

  async #create(topics: readonly string[]): Promise<void> {
    // Asking first keeps the broker from logging a creation error for every topic another process
    // (a sink, another reader) created before us; createTopics itself tolerates that race.
    const existing = new Set(await this.admin.listTopics());
    const absent = topics.filter((topic) => !existing.has(topic));
    for (let start = 0; start < absent.length; start += createBatchSize) {
      await this.admin.createTopics({
        // kafkajs's own wait gives up on the first "unknown topic" answer, which a broker creating
        // hundreds of topics at once does give for a moment: the leaders are awaited below instead.
        waitForLeaders: false,
        topics: absent.slice(start, start + createBatchSize).map((topic) => ({
          topic,
          numPartitions: 1,
          replicationFactor: this.replicationFactor,
          configEntries: [
            { name: 'cleanup.policy', value: 'compact' },
            // Explicit, not the broker's default: the sink relies on this value to know how far
            // behind a database may fall and still learn every delete from the topic.
            { name: 'delete.retention.ms', value: String(this.deleteRetentionMs) },
            // Room for one large row image (TOASTed text or jsonb) in a single record.
            { name: 'max.message.bytes', value: String(8 * 1024 * 1024) },
            // The broker preallocates and maps each segment's two indexes at this size (10 MiB by
            // default) once a segment holds 4 KiB. With a thousand tenant topics, that froze the
            // transaction coordinator's commit markers for 7–36 s; 256 KiB costs 0.2 s and still
            // lets a segment grow to ~85 MiB before it rolls.
            { name: 'segment.index.bytes', value: String(256 * 1024) },
          ],
        })),
      });
    }
    if (absent.length > 0) await this.#awaitLeaders(absent);
    for (const topic of topics) this.#known.add(topic);
  }

  /** Until every partition of `topics` has a leader (a producer would be refused before that). */
  async #awaitLeaders(topics: readonly string[]): Promise<void> {
    await waitFor(
      `leaders of ${topics.length} new topic(s)`,
      async () => {
        const metadata = await this.admin.fetchTopicMetadata({ topics: [...topics] });
        return metadata.topics.length === topics.length && metadata.topics.every((topic) => topic.partitions.length > 0 && topic.partitions.every((partition) => partition.leader >= 0));
      },
      { timeoutMs: 60_000, intervalMs: 100 },
    );
  }
}
