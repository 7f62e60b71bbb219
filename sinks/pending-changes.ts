import type { OffsetEvent } from './batch-plan';

/**
 * What a database's lane has seen of the changes that database has not applied yet: the source
 * commit time of the oldest one (its lag is now minus that, so the lag keeps growing while the
 * database is stuck or paused, also when nothing new arrives) and how many there are. Pure
 * bookkeeping, fed with every batch the lane reads, whether or not the database took it.
 *
 * Knowledge is valid for one position: it covers the records from `next` through `knownThrough`,
 * all of which were seen. When the database's position moves, the knowledge starts again there.
 */
export class PendingChanges {
  /** The database's next offset when this knowledge started. */
  #from = 0n;
  /** Every record from `#from` up to here was seen. */
  #knownThrough = -1n;
  /** Source commit time of the first change seen at or after `#from`, in ms since the epoch. */
  #oldestCommitMs: number | undefined;
  /** Change events seen at or after `#from` (tombstones, which repeat a delete, are not counted). */
  #events = 0;

  /** The next offset the lane should read to learn more for this database. */
  nextToRead(next: bigint): bigint {
    return this.#from === next ? this.#knownThrough + 1n : next;
  }

  /**
   * A batch read from `fetchedFrom` that covers every record up to `through`, seen while the
   * database's next offset is `next`. A batch that starts past what is known leaves a hole and is
   * not counted (the lane reads the hole for it later).
   */
  seen(events: readonly OffsetEvent[], fetchedFrom: bigint, through: bigint, next: bigint): void {
    if (this.#from !== next) this.#restart(next);
    if (fetchedFrom > this.#knownThrough + 1n || through <= this.#knownThrough) return;
    for (const { offset, event, fromTombstone } of events) {
      if (offset <= this.#knownThrough || offset < next || offset > through) continue;
      if (fromTombstone) continue;
      this.#oldestCommitMs ??= event.source.ts_ms;
      this.#events++;
    }
    this.#knownThrough = through;
  }

  /** The knowledge for `next`: undefined when the position moved since anything was seen. */
  at(next: bigint): { oldestCommitMs: number | undefined; events: number; knownThrough: bigint } | undefined {
    if (this.#from !== next) return undefined;
    return { oldestCommitMs: this.#oldestCommitMs, events: this.#events, knownThrough: this.#knownThrough };
  }

  /** Seconds between the oldest unapplied change's commit and `nowMs`; 0 when none is known. */
  lagSeconds(next: bigint, nowMs: number): number {
    const oldest = this.at(next)?.oldestCommitMs;
    return oldest === undefined ? 0 : Math.max(0, nowMs - oldest) / 1000;
  }

  #restart(next: bigint): void {
    this.#from = next;
    this.#knownThrough = next - 1n;
    this.#oldestCommitMs = undefined;
    this.#events = 0;
  }
}
