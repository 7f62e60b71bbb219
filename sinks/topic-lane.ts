import type { KafkaMessage } from 'kafkajs';
import { changeEventSchema } from '../schema/change-event';
import { SyncError } from '../infra/runtime/errors';
import type { OffsetEvent } from './batch-plan';
import type { DatabaseSync } from './database-sync';
import type { SinkMetrics } from './metrics';

/** How the lane steers its topic on the process's shared consumer. */
export interface TopicControl {
  pause(topic: string): void;
  resume(topic: string): void;
  seek(topic: string, offset: bigint): void;
}

export interface FetchedBatch {
  messages: readonly KafkaMessage[];
  /** Offset of the batch's last record (past its last message when it ends with control records). */
  lastOffset: bigint;
  highWatermark: bigint;
}

/**
 * A slow database delays the others of its tenancy by at most this long: after it, the lane moves
 * on with those that finished and comes back for the slow one once it is done.
 */
const slowDatabaseGraceMs = 1_000;

/**
 * One tenant topic on the process's shared consumer, feeding every external database of that
 * tenancy. The consumer never waits on a database: the lane pauses its topic, applies the batch
 * to each database that can take it (concurrently), then seeks to the smallest offset any
 * available database needs and resumes. A database that fails or falls behind is simply not
 * offered batches until it is ready again; then the lane seeks back for it, and the others skip
 * what they already have without a round trip.
 */
export class TopicLane {
  readonly databases = new Map<string, DatabaseSync>();
  #assigned = false;
  #busy = false;
  /** Where the last seek put the consumer: batches start here. */
  #position = -1n;

  constructor(
    readonly topic: string,
    readonly tenancyId: string,
    private readonly control: TopicControl,
    private readonly metrics: SinkMetrics,
    private readonly consumerGroup: string,
  ) {}

  /** Smallest offset any database of this topic still needs (for the advisory group offset). */
  get committedPosition(): bigint | undefined {
    const nexts = [...this.databases.values()].map((database) => database.next);
    return nexts.length === 0 ? undefined : nexts.reduce((low, next) => (next < low ? next : low));
  }

  /** The shared consumer was (re)assigned, or lost, this topic. */
  setAssigned(assigned: boolean): void {
    this.#assigned = assigned;
    if (assigned) this.reposition();
  }

  /** Called by the consumer for each fetched batch; returns at once so the consumer never waits. */
  offer(batch: FetchedBatch): void {
    // A batch fetched before the last seek or while a batch is being applied: the lane repositions
    // itself when it is done, so this one is not needed.
    if (this.#busy || !this.#assigned) return;
    this.#busy = true;
    this.control.pause(this.topic);
    void this.#apply(batch).finally(() => {
      this.#busy = false;
      this.reposition();
    });
  }

  /** Seeks to what the available databases need next and resumes, or stays paused if none can take events. */
  reposition(): void {
    if (this.#busy || !this.#assigned) return;
    let position: bigint | undefined;
    for (const database of this.databases.values()) {
      if (database.available && (position === undefined || database.next < position)) position = database.next;
    }
    if (position === undefined) {
      this.control.pause(this.topic);
      return;
    }
    this.#position = position;
    this.control.seek(this.topic, position);
    this.control.resume(this.topic);
  }

  async #apply(batch: FetchedBatch): Promise<void> {
    const { events, invalid } = this.#parse(batch.messages);
    // Only databases whose next offset is at or after where this batch was read from: earlier
    // ones would miss the records in between, and get their own pass after a seek back.
    const takers = [...this.databases.values()].filter((database) => database.available && database.next >= this.#position);
    const applying = takers.map(async (database) => {
      await database.apply(events, invalid ? events.at(-1)?.offset ?? database.next - 1n : batch.lastOffset);
      if (invalid) database.reject(invalid);
      this.metrics.backlogEvents.set({ tenancy: this.tenancyId, database: database.databaseId }, Number(maxZero(batch.highWatermark - database.next)));
    });
    const all = Promise.all(applying);
    let grace: NodeJS.Timeout | undefined;
    const finished = await Promise.race([all.then(() => true), new Promise<boolean>((resolve) => (grace = setTimeout(() => resolve(false), slowDatabaseGraceMs)))]);
    clearTimeout(grace);
    // Those still applying come back through reposition() when they finish.
    if (!finished) void all.then(() => this.reposition());
    const low = this.committedPosition;
    if (low !== undefined) {
      this.metrics.consumerGroupLag.set({ consumergroup: this.consumerGroup, topic: this.topic, partition: '0' }, Number(maxZero(batch.highWatermark - low)));
    }
  }

  /** Events up to the first unreadable record; that record fails every database that reaches it. */
  #parse(messages: readonly KafkaMessage[]): { events: OffsetEvent[]; invalid?: SyncError } {
    const events: OffsetEvent[] = [];
    for (const message of messages) {
      const offset = BigInt(message.offset);
      if (offset < this.#position) continue;
      // Tombstones exist for compaction only; the delete event before each did the work.
      if (message.value === null) continue;
      let value: unknown;
      try {
        value = JSON.parse(message.value.toString('utf8'));
      } catch {
        value = undefined;
      }
      const parsed = changeEventSchema.safeParse(value);
      if (!parsed.success) {
        const invalid = new SyncError('SINK_INVALID_EVENT', `offset ${message.offset} of ${this.topic} is not a change event: ${parsed.error.message}`, {
          topic: this.topic,
          offset: message.offset,
        });
        return { events, invalid };
      }
      events.push({ offset, event: parsed.data });
    }
    return { events };
  }
}

function maxZero(value: bigint): bigint {
  return value < 0n ? 0n : value;
}
