import kafkajs, { type Admin } from 'kafkajs';
import { safelyRetainedSince, type TopicBounds } from './progress-proof';

// kafkajs is CommonJS: Node's ESM loader cannot name this export, only the default object has it.
const { ConfigResourceTypes } = kafkajs;

/** What Kafka still holds of a tenant topic (one partition), for sinks/progress-proof.ts. */
export class TopicHistory {
  /** delete.retention.ms of each topic as the broker applies it, read once per topic. */
  readonly #retention = new Map<string, number>();

  constructor(
    private readonly admin: Admin,
    /** KAFKA_TOPIC_DELETE_RETENTION_MS: what this deployment sets on the topics it creates. */
    private readonly deleteRetentionMs: number,
    private readonly now: () => number = Date.now,
  ) {}

  async bounds(topic: string): Promise<TopicBounds> {
    const [offsets] = await this.admin.fetchTopicOffsets(topic);
    if (!offsets) throw new Error(`topic ${topic} has no partition`);
    // kafkajs answers the high watermark when no record is that recent.
    const [retained] = await this.admin.fetchTopicOffsetsByTimestamp(topic, safelyRetainedSince(this.now(), await this.#retentionOf(topic)));
    return { logStart: BigInt(offsets.low), end: BigInt(offsets.high), firstSafelyRetained: BigInt(retained?.offset ?? offsets.high) };
  }

  /**
   * The shorter of the topic's own delete.retention.ms and the configured one: a topic created
   * before the value was set explicitly keeps the broker's default, which may be shorter.
   */
  async #retentionOf(topic: string): Promise<number> {
    const known = this.#retention.get(topic);
    if (known !== undefined) return known;
    const described = await this.admin.describeConfigs({ includeSynonyms: false, resources: [{ type: ConfigResourceTypes.TOPIC, name: topic, configNames: ['delete.retention.ms'] }] });
    const value = Number(described.resources[0]?.configEntries.find((entry) => entry.configName === 'delete.retention.ms')?.configValue);
    const retention = Number.isFinite(value) && value > 0 ? Math.min(value, this.deleteRetentionMs) : this.deleteRetentionMs;
    this.#retention.set(topic, retention);
    return retention;
  }
}
