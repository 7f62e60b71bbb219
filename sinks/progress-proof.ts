/**
 * Whether a tenant topic can still tell a database everything after its position. Compaction
 * keeps the latest record of every key, so upserts are never lost; a delete's tombstone is kept
 * only `delete.retention.ms` once its segment is cleaned, and records below the log start offset
 * are gone. Pure: the offsets come from Kafka (sinks/topic-history.ts).
 */
export type ProgressVerdict =
  /** Reading on from the database's next offset tells it everything. */
  | { kind: 'provable' }
  /** Records after its position are older than the tombstone retention: deletes may be missing. */
  | { kind: 'deletes-unprovable' }
  /** Records after its position were removed from the log: rows and deletes may be missing. */
  | { kind: 'records-lost'; logStart: bigint }
  /** Its position is past the topic's end: the topic was recreated (or the position is not ours). */
  | { kind: 'ahead-of-topic'; end: bigint };

export interface TopicBounds {
  /** First offset still in the log. */
  logStart: bigint;
  /** Offset the next record will get (the high watermark). */
  end: bigint;
  /** First offset written at or after the oldest moment a tombstone is certainly still kept (`end` if none). */
  firstSafelyRetained: bigint;
}

export function judgeProgress(next: bigint, bounds: TopicBounds): ProgressVerdict {
  if (next < bounds.logStart) return { kind: 'records-lost', logStart: bounds.logStart };
  // Reading from there would wait for offsets this topic has not reached, and skip the ones below.
  if (next > bounds.end) return { kind: 'ahead-of-topic', end: bounds.end };
  // Caught up: nothing after its position to miss.
  if (next === bounds.end) return { kind: 'provable' };
  // Every record from `next` on is recent enough that none of its tombstones can have been
  // cleaned (a tombstone is removed no sooner than delete.retention.ms after it was written).
  if (bounds.firstSafelyRetained <= next) return { kind: 'provable' };
  return { kind: 'deletes-unprovable' };
}

/**
 * The moment before which records may have lost their tombstones: the retention, less a margin for
 * clock skew between the broker and this process (a tenth of it, at most an hour).
 */
export function safelyRetainedSince(nowMs: number, deleteRetentionMs: number): number {
  return nowMs - (deleteRetentionMs - Math.min(3_600_000, Math.floor(deleteRetentionMs / 10)));
}
