import type { TopicRecord } from './envelope';
import type { Lsn } from './lsn';

/**
 * Publishes a run of records together with the source position after them (one Kafka
 * transaction); resolves once Kafka committed it.
 */
export type PublishFn = (records: readonly TopicRecord[], position: Lsn) => Promise<void>;

interface Pending {
  records: readonly TopicRecord[];
  position: Lsn;
  bytes: number;
  resolve: () => void;
  reject: (error: unknown) => void;
}

function sizeOf(records: readonly TopicRecord[]): number {
  return records.reduce((total, record) => total + record.key.length + (record.value?.length ?? 0), 0);
}

/**
 * Group commit for the reader: while one produce request is in flight, the transactions that
 * commit meanwhile queue up and go out together in the next one, instead of one round trip each.
 * Order is kept (requests are sent one at a time, transactions in commit order), each transaction's
 * `durable` promise resolves only after Kafka acknowledged its records, and a failure fails that
 * request and everything after it. The queue is bounded by bytes: `submit` waits for room.
 */
export class PublishPipeline {
  readonly #queue: Pending[] = [];
  #queuedBytes = 0;
  #sending = false;
  #failure: unknown;
  readonly #roomWaiters: (() => void)[] = [];

  constructor(
    private readonly publish: PublishFn,
    /** Most bytes of records waiting to be sent; beyond it `submit` applies backpressure. */
    private readonly maxQueuedBytes = 8 * 1024 * 1024,
    /** Most bytes of records in one combined publish. */
    private readonly maxGroupBytes = 4 * 1024 * 1024,
  ) {}

  /**
   * Waits for room in the queue, then returns the promise of the records' durability. `position`
   * is the source position once these records are published (their transaction's commit end).
   */
  async submit(records: readonly TopicRecord[], position: Lsn): Promise<{ durable: Promise<void> }> {
    if (this.#failure !== undefined) throw this.#failure;
    const bytes = sizeOf(records);
    while (this.#queuedBytes > 0 && this.#queuedBytes + bytes > this.maxQueuedBytes) {
      await new Promise<void>((resolve) => this.#roomWaiters.push(resolve));
      if (this.#failure !== undefined) throw this.#failure;
    }
    const durable = new Promise<void>((resolve, reject) => {
      this.#queue.push({ records, position, bytes, resolve, reject });
    });
    // Callers chain on `durable`; an unobserved rejection must not crash the process.
    durable.catch(() => undefined);
    this.#queuedBytes += bytes;
    void this.#drain();
    return { durable };
  }

  async #drain(): Promise<void> {
    if (this.#sending) return;
    this.#sending = true;
    try {
      while (this.#queue.length > 0 && this.#failure === undefined) {
        const group: Pending[] = [];
        let groupBytes = 0;
        while (this.#queue.length > 0 && (group.length === 0 || groupBytes + this.#queue[0]!.bytes <= this.maxGroupBytes)) {
          const next = this.#queue.shift()!;
          group.push(next);
          groupBytes += next.bytes;
        }
        try {
          // Submissions come in commit order: the group's position is its last one's.
          await this.publish(
            group.flatMap((pending) => pending.records),
            group.at(-1)!.position,
          );
          for (const pending of group) pending.resolve();
        } catch (error: unknown) {
          this.#failure = error;
          for (const pending of [...group, ...this.#queue.splice(0)]) pending.reject(error);
        } finally {
          this.#queuedBytes -= groupBytes;
          for (const wake of this.#roomWaiters.splice(0)) wake();
        }
      }
    } finally {
      this.#sending = false;
    }
  }
}
