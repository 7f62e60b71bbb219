import type { Admin } from 'kafkajs';
import { safelyRetainedSince, type TopicBounds } from './progress-proof';

/** What Kafka still holds of a tenant topic (one partition), for sinks/progress-proof.ts. */
export class TopicHistory {
  constructor(
    private readonly admin: Admin,
    private readonly deleteRetentionMs: number,
    private readonly now: () => number = Date.now,
  ) {}

  async bounds(topic: string): Promise<TopicBounds> {
    const [offsets] = await this.admin.fetchTopicOffsets(topic);
    if (!offsets) throw new Error(`topic ${topic} has no partition`);
    // kafkajs answers the high watermark when no record is that recent.
    const [retained] = await this.admin.fetchTopicOffsetsByTimestamp(topic, safelyRetainedSince(this.now(), this.deleteRetentionMs));
    return { logStart: BigInt(offsets.low), end: BigInt(offsets.high), firstSafelyRetained: BigInt(retained?.offset ?? offsets.high) };
  }
}
