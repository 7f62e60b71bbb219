import type { Admin } from 'kafkajs';

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
  ) {}

  async ensure(topics: Iterable<string>): Promise<void> {
    const waits: Promise<void>[] = [];
    for (const topic of topics) {
      if (this.#known.has(topic)) continue;
      let pending = this.#pending.get(topic);
      if (!pending) {
        pending = this.#create(topic).finally(() => this.#pending.delete(topic));
        this.#pending.set(topic, pending);
      }
      waits.push(pending);
    }
    await Promise.all(waits);
  }

  async #create(topic: string): Promise<void> {
    // Asking first keeps the broker from logging a creation error for every topic another process
    // (a sink, another reader) created before us; createTopics itself tolerates that race.
    if ((await this.admin.listTopics()).includes(topic)) {
      this.#known.add(topic);
      return;
    }
    await this.admin.createTopics({
      waitForLeaders: true,
      topics: [
        {
          topic,
          numPartitions: 1,
          replicationFactor: this.replicationFactor,
          configEntries: [
            { name: 'cleanup.policy', value: 'compact' },
            // Room for one large row image (TOASTed text or jsonb) in a single record.
            { name: 'max.message.bytes', value: String(8 * 1024 * 1024) },
          ],
        },
      ],
    });
    this.#known.add(topic);
  }
}
