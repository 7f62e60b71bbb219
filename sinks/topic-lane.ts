import type { KafkaMessage } from 'kafkajs';
import { changeEventSchema } from '../schema/change-event';
import { changeEventFromConnect, isConnectRecord } from '../schema/connect-event';
import { tombstoneDelete } from './tombstone';
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
  /** Offset the consumer fetched this batch from: it holds every event from here to `lastOffset`. */
  fetchedFrom: bigint;
  /** Offset of the batch's last record (past its last message when it ends with control records). */
  lastOffset: bigint;
  highWatermark: bigint;
  /** True while a seek on its partition is pending: it was fetched from where the consumer no longer reads. */
  isStale(): boolean;
}

/**
 * Bytes of fetched records waiting in lanes (behind the batch each is applying), shared by all
 * lanes of a process so that a thousand lagging topics cannot fill memory: past it, topics pause.
 */
export class WaitingBytes {
  used = 0;

  constructor(readonly max: number) {}
}

function bytesOf(messages: readonly KafkaMessage[]): number {
  return messages.reduce((total, message) => total + (message.value?.length ?? 0) + (message.key?.length ?? 0), 0);
}

/**
 * A slow database delays the others of its tenancy by at most this long: after it, the lane moves
 * on with those that finished and comes back for the slow one once it is done.
 */
const slowDatabaseGraceMs = 1_000;

/**
 * One tenant topic on the process's shared consumer, feeding every external database of that
 * tenancy. The consumer never waits on a database: the lane takes a batch, points the consumer at
 * the records after it (so the next batch is fetched while this one is applied), and applies it to
 * each database that can take it, concurrently. One batch may wait while another is applied;
 * beyond that the topic is paused. A database that fails or falls behind is simply not offered
 * batches until it is ready again; then the lane seeks back for it, and the others skip what they
 * already have without a round trip.
 */
export class TopicLane {
  readonly databases = new Map<string, DatabaseSync>();
  #assigned = false;
  #busy = false;
  /** Where the consumer was last pointed: the next batch must have been fetched from exactly here. */
  #readAhead = -1n;
  /** The topic's end offset (next offset to be written) as of the newest batch fetched; the status API shows it. */
  #highWatermark: bigint | undefined;
  /** Records that arrived while a batch was being applied, merged into one batch from where it ended. */
  #waiting: { batch: FetchedBatch; bytes: number } | undefined;

  constructor(
    readonly topic: string,
    readonly tenancyId: string,
    private readonly control: TopicControl,
    private readonly metrics: SinkMetrics,
    private readonly consumerGroup: string,
    private readonly waitingBytes: WaitingBytes,
  ) {}

  /** Smallest offset any database of this topic still needs (for the advisory group offset). */
  get committedPosition(): bigint | undefined {
    const nexts = [...this.databases.values()].map((database) => database.next);
    return nexts.length === 0 ? undefined : nexts.reduce((low, next) => (next < low ? next : low));
  }

  get assigned(): boolean {
    return this.#assigned;
  }

  get highWatermark(): bigint | undefined {
    return this.#highWatermark;
  }

  /** The shared consumer was (re)assigned, or lost, this topic. */
  setAssigned(assigned: boolean): void {
    this.#assigned = assigned;
    this.#takeWaiting();
    if (assigned) this.reposition();
  }

  /** Called by the consumer for each fetched batch; returns at once so the consumer never waits. */
  offer(batch: FetchedBatch): void {
    if (!this.#assigned) return;
    if (this.#highWatermark === undefined || batch.highWatermark > this.#highWatermark) this.#highWatermark = batch.highWatermark;
    // Fetched before the last seek (kafkajs fetches ahead and delivers what it fetched): it may
    // start anywhere, and taking it would skip the records between the seek and its start.
    if (batch.isStale()) return;
    const expected = this.#waiting ? this.#waiting.batch.lastOffset + 1n : this.#readAhead;
    if (batch.fetchedFrom !== expected) {
      // Not from where the consumer was pointed (a group join reset it): point it there again.
      this.control.seek(this.topic, expected);
      return;
    }
    if (this.#busy) {
      this.#wait(batch);
      return;
    }
    this.#begin(batch);
  }

  /**
   * Keeps a batch that came while another is being applied and points the consumer past it, so a
   * steady stream is never paused (a paused consumer fetches again only after its wait time).
   * Past the process's budget of waiting bytes the topic pauses instead, and the batch is fetched
   * again later.
   */
  #wait(batch: FetchedBatch): void {
    const bytes = bytesOf(batch.messages);
    if (this.waitingBytes.used + bytes > this.waitingBytes.max && this.#waiting !== undefined) {
      this.control.pause(this.topic);
      return;
    }
    this.waitingBytes.used += bytes;
    const earlier = this.#waiting;
    this.#waiting = earlier
      ? {
          batch: { ...batch, messages: [...earlier.batch.messages, ...batch.messages], fetchedFrom: earlier.batch.fetchedFrom },
          bytes: earlier.bytes + bytes,
        }
      : { batch, bytes };
    this.control.seek(this.topic, batch.lastOffset + 1n);
  }

  #takeWaiting(): FetchedBatch | undefined {
    const waiting = this.#waiting;
    this.#waiting = undefined;
    if (!waiting) return undefined;
    this.waitingBytes.used -= waiting.bytes;
    return waiting.batch;
  }

  /**
   * Seeks to what the databases need next and resumes, or pauses if none needs anything read.
   * Databases that take nothing now (paused, in backoff) are still read for, up to the end of the
   * topic, so that their lag and backlog stay known; their batches are not applied.
   */
  reposition(): void {
    if (this.#busy || !this.#assigned) return;
    const behind = this.#lowestAvailableNext();
    if (behind === undefined) {
      this.control.pause(this.topic);
      return;
    }
    this.#readAhead = behind;
    this.control.seek(this.topic, behind);
    this.control.resume(this.topic);
  }

  #begin(batch: FetchedBatch): void {
    this.#busy = true;
    this.#readAhead = batch.lastOffset + 1n;
    this.control.seek(this.topic, this.#readAhead);
    void this.#apply(batch).finally(() => this.#finished());
  }

  #finished(): void {
    this.#busy = false;
    const waiting = this.#takeWaiting();
    const behind = this.#lowestAvailableNext();
    if (waiting && behind !== undefined && behind >= this.#readAhead && this.#assigned) {
      // Every database that can take events is where the waiting batch starts: go on with it.
      this.control.resume(this.topic);
      this.#begin(waiting);
      return;
    }
    this.reposition();
  }

  /** Where the lane reads next: the lowest next offset of the databases that take events, or of those watched. */
  #lowestAvailableNext(): bigint | undefined {
    let lowest: bigint | undefined;
    for (const database of this.databases.values()) {
      const wants = database.available ? database.next : database.watched ? database.pending.nextToRead(database.next) : undefined;
      if (wants !== undefined && (lowest === undefined || wants < lowest)) lowest = wants;
    }
    return lowest;
  }

  async #apply(batch: FetchedBatch): Promise<void> {
    const { events, invalid } = this.#parse(batch);
    // Only databases whose next offset is at or after where this batch was read from: earlier
    // ones would miss the records in between, and get their own pass after a seek back.
    const takers = [...this.databases.values()].filter((database) => database.available && database.next >= batch.fetchedFrom);
    // An unreadable record ends what the batch covers: everything before it is applied.
    const through = invalid ? invalid.offset - 1n : batch.lastOffset;
    // Seen by every database before any applies: those that take nothing now learn their lag.
    for (const database of this.databases.values()) database.pending.seen(events, batch.fetchedFrom, through, database.next);
    const applying = takers.map(async (database) => {
      await database.apply(events, batch.fetchedFrom, through);
      // Its position moved: what is left of this batch is what it has not applied.
      database.pending.seen(events, batch.fetchedFrom, through, database.next);
      // Only databases that reached the unreadable record stop there; those past it already have it.
      if (invalid && database.next === invalid.offset) database.reject(invalid.error);
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
  #parse(batch: FetchedBatch): { events: OffsetEvent[]; invalid?: { offset: bigint; error: SyncError } } {
    const events: OffsetEvent[] = [];
    for (const message of batch.messages) {
      const offset = BigInt(message.offset);
      if (offset < batch.fetchedFrom) continue;
      if (message.value === null) {
        // Usually the delete event just before did the work; after compaction the tombstone may
        // be all that is left of that delete, so it is applied as one (a repeat is harmless).
        const deleted = message.key ? tombstoneDelete(message.key.toString('utf8'), events.at(-1)?.event) : undefined;
        if (deleted) events.push({ offset, event: deleted, fromTombstone: true });
        continue;
      }
      let value: unknown;
      try {
        value = JSON.parse(message.value.toString('utf8'));
      } catch {
        value = undefined;
      }
      // Both event formats: a deployment with CDC_EVENT_FORMAT=debezium-json-schemas writes the
      // same envelope wrapped in Kafka Connect's {schema, payload}.
      const parsed = changeEventSchema.safeParse(isConnectRecord(value) ? changeEventFromConnect(value) : value);
      if (!parsed.success) {
        const invalid = new SyncError('SINK_INVALID_EVENT', `offset ${message.offset} of ${this.topic} is not a change event: ${parsed.error.message}`, {
          topic: this.topic,
          offset: message.offset,
        });
        return { events, invalid: { offset, error: invalid } };
      }
      events.push({ offset, event: parsed.data });
    }
    return { events };
  }
}

function maxZero(value: bigint): bigint {
  return value < 0n ? 0n : value;
}
