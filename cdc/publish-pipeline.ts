import type { TopicRecord } from './envelope';
import type { Lsn } from './lsn';

/** Where the pipeline puts records: one open Kafka transaction at a time. */
export interface TransactionalTarget {
  /** Sends records inside the open Kafka transaction (opening one if none is open). */
  send(records: readonly TopicRecord[]): Promise<void>;
  /** Commits the open Kafka transaction together with `position`; resolves once Kafka committed. */
  commit(position: Lsn): Promise<void>;
}

interface Pending {
  /** Emptied once sent: a huge source transaction must not stay in memory until its commit. */
  records: readonly TopicRecord[];
  /** Whether it had records (the Kafka transaction then has something to commit). */
  hasRecords: boolean;
  /** Set when these records end a source transaction: its position (commit LSN). */
  endsAt: Lsn | undefined;
  bytes: number;
  resolve: () => void;
  reject: (error: unknown) => void;
}

function deferred(): { promise: Promise<void>; resolve: () => void; reject: (error: unknown) => void } {
  let resolve: () => void = ignore;
  let reject: (error: unknown) => void = ignore;
  const promise = new Promise<void>((resolvePromise, rejectPromise) => {
    resolve = resolvePromise;
    reject = rejectPromise;
  });
  return { promise, resolve, reject };
}

function ignore(): void {}

function sizeOf(records: readonly TopicRecord[]): number {
  return records.reduce((total, record) => total + record.key.length + (record.value?.length ?? 0), 0);
}

export interface PublishPipelineOptions {
  /** Most bytes of records waiting to be sent; beyond it `submit` applies backpressure. */
  maxQueuedBytes?: number;
  /** Most bytes of records in one send. */
  maxSendBytes?: number;
  /** A Kafka transaction commits at the next source transaction's end once it holds this much… */
  commitAfterBytes?: number;
  /** …or once it has been open this long, even while more is queued (latency under steady load). */
  commitAfterMs?: number;
  /** The clock `commitAfterMs` is measured with, in ms (tests bring their own). */
  now?: () => number;
}

/**
 * Between the reader and Kafka. Records go out as they come (a huge source transaction streams
 * through in bounded memory) into one open Kafka transaction, which commits only where a source
 * transaction ends — and not at every one: while records are sent, the source transactions that
 * commit meanwhile queue up and join the same Kafka transaction (group commit: one Kafka commit per
 * group, not per source transaction). Order is kept, each submission's `durable` resolves only
 * once the Kafka transaction holding it committed, and a failure fails it and everything after
 * it. The queue is bounded by bytes: `submit` waits for room.
 */
export class PublishPipeline {
  readonly #queue: Pending[] = [];
  /** Sent in the open Kafka transaction, waiting for its commit. */
  #sent: Pending[] = [];
  #sentBytes = 0;
  #queuedBytes = 0;
  #sending = false;
  #failure: unknown;
  readonly #roomWaiters: (() => void)[] = [];
  /** Set by `close`: the drain starts no further send. */
  #closing = false;
  /** Waiting for the drain under way to end (`close`). */
  readonly #idleWaiters: (() => void)[] = [];
  /** Submits between their call and their records being queued. */
  #waitingSubmits = 0;

  readonly #maxQueuedBytes: number;
  readonly #maxSendBytes: number;
  readonly #commitAfterBytes: number;
  readonly #commitAfterMs: number;
  readonly #now: () => number;
  /** When the open Kafka transaction got its first records. */
  #openedAt: number | undefined;

  constructor(
    private readonly target: TransactionalTarget,
    options: PublishPipelineOptions = {},
  ) {
    this.#maxQueuedBytes = options.maxQueuedBytes ?? 8 * 1024 * 1024;
    this.#maxSendBytes = options.maxSendBytes ?? 4 * 1024 * 1024;
    this.#commitAfterBytes = options.commitAfterBytes ?? 16 * 1024 * 1024;
    this.#commitAfterMs = options.commitAfterMs ?? 10;
    this.#now = options.now ?? (() => performance.now());
  }

  /**
   * Waits for room in the queue, then returns the promise of the records' durability. `endsAt` is
   * given with a source transaction's last records: its commit LSN, the position Kafka records.
   */
  async submit(records: readonly TopicRecord[], endsAt?: Lsn): Promise<{ durable: Promise<void> }> {
    if (this.#failure !== undefined) throw this.#failure;
    const bytes = sizeOf(records);
    this.#waitingSubmits++;
    try {
      while (!this.#hasRoomFor(bytes)) {
        await new Promise<void>((resolve) => this.#roomWaiters.push(resolve));
        if (this.#failure !== undefined) throw this.#failure;
      }
    } finally {
      this.#waitingSubmits--;
    }
    return this.#enqueue(records, endsAt, bytes);
  }

  /**
   * `submit` without waiting: the receipt when the queue has room now, else undefined (nothing
   * was queued; the caller then awaits `submit`). Spares a small transaction the promises of an
   * async call. Throws the pipeline's failure.
   */
  offer(records: readonly TopicRecord[], endsAt?: Lsn): { durable: Promise<void> } | undefined {
    if (this.#failure !== undefined) throw this.#failure;
    const bytes = sizeOf(records);
    // A submit still waiting for room goes first: records are queued in the order they were given.
    return this.#waitingSubmits === 0 && this.#hasRoomFor(bytes) ? this.#enqueue(records, endsAt, bytes) : undefined;
  }

  /** An empty queue takes anything (a record larger than the bound must still go). */
  #hasRoomFor(bytes: number): boolean {
    return this.#queuedBytes === 0 || this.#queuedBytes + bytes <= this.#maxQueuedBytes;
  }

  #enqueue(records: readonly TopicRecord[], endsAt: Lsn | undefined, bytes: number): { durable: Promise<void> } {
    // MEMORY: no closure in this scope may capture `records` (V8 keeps a scope's captured
    // variables alive as long as any of its closures lives, here until the Kafka commit).
    const { promise: durable, resolve, reject } = deferred();
    this.#queue.push({ records, hasRecords: records.length > 0, endsAt, bytes, resolve, reject });
    // Callers chain on `durable`; an unobserved rejection must not crash the process.
    durable.catch(ignore);
    this.#queuedBytes += bytes;
    void this.#drain();
    return { durable };
  }

  #openFor(): number {
    return this.#openedAt === undefined ? 0 : this.#now() - this.#openedAt;
  }

  /**
   * Sent (or failed) records no longer count against the queue's bound. Waiters are woken even
   * for 0 bytes: after a failure they must wake to see it (each re-checks room and failure).
   */
  #release(bytes: number): void {
    this.#queuedBytes -= bytes;
    for (const wake of this.#roomWaiters.splice(0)) wake();
  }

  async #drain(): Promise<void> {
    if (this.#sending) return;
    this.#sending = true;
    try {
      while (this.#queue.length > 0 && this.#failure === undefined && !this.#closing) {
        const group: Pending[] = [];
        let groupBytes = 0;
        while (this.#queue.length > 0 && (group.length === 0 || groupBytes + this.#queue[0]!.bytes <= this.#maxSendBytes)) {
          const next = this.#queue.shift()!;
          group.push(next);
          groupBytes += next.bytes;
          // A Kafka transaction that holds enough ends with the next source transaction: without
          // this cut, a steady backlog of multi-segment transactions could keep it open for as
          // long as the backlog lasts, past Kafka's transaction timeout.
          if (next.endsAt !== undefined && this.#sentBytes + groupBytes >= this.#commitAfterBytes) break;
        }
        try {
          const records = group.flatMap((pending) => pending.records);
          if (records.length > 0) {
            this.#openedAt ??= this.#now();
            await this.target.send(records);
          }
          for (const pending of group) pending.records = [];
          this.#release(groupBytes);
          this.#sentBytes += groupBytes;
          groupBytes = 0;
          this.#sent.push(...group);
          const endsAt = group.at(-1)!.endsAt;
          // Commit where a source transaction ends (a half-sent one never commits), once nothing
          // else is waiting to join, or the Kafka transaction is large or has been open a while:
          // under a steady stream the queue is rarely empty, and latency must stay bounded.
          if (endsAt !== undefined && (this.#queue.length === 0 || this.#sentBytes >= this.#commitAfterBytes || this.#openFor() >= this.#commitAfterMs)) {
            if (this.#sent.some((pending) => pending.hasRecords)) await this.target.commit(endsAt);
            const committed = this.#sent;
            this.#sent = [];
            this.#openedAt = undefined;
            this.#sentBytes = 0;
            for (const pending of committed) pending.resolve();
          }
        } catch (error: unknown) {
          this.#failure = error;
          // The open Kafka transaction is lost with everything in it, and nothing after it may go.
          const queued = this.#queue.splice(0);
          const failed = new Set([...this.#sent.splice(0), ...group, ...queued]);
          this.#openedAt = undefined;
          this.#sentBytes = 0;
          for (const pending of failed) pending.reject(error);
          // The queued records will never be sent; the `finally` below wakes every submit
          // parked for room, which then sees the failure and throws (none may wait forever).
          groupBytes += queued.reduce((total, pending) => total + pending.bytes, 0);
        } finally {
          this.#release(groupBytes);
        }
      }
    } finally {
      this.#sending = false;
      for (const wake of this.#idleWaiters.splice(0)) wake();
    }
  }

  /**
   * Ends the pipeline when its stream ends: waits for the send or commit under way (so that nothing
   * of this pipeline touches the Kafka producer afterwards, when it may already serve the next
   * stream), then fails whatever could not commit — a source transaction whose end never came
   * keeps its Kafka transaction open, and its records are published again by the next stream.
   */
  async close(): Promise<void> {
    // The drain finishes the send (and a commit it makes due) under way and starts nothing more.
    this.#closing = true;
    while (this.#sending) await new Promise<void>((resolve) => this.#idleWaiters.push(resolve));
    if (this.#failure !== undefined) return;
    const reason = new Error('the replication stream ended before these records were committed in Kafka');
    this.#failure = reason;
    const queued = this.#queue.splice(0);
    const unfinished = [...this.#sent.splice(0), ...queued];
    this.#openedAt = undefined;
    this.#sentBytes = 0;
    for (const pending of unfinished) pending.reject(reason);
    this.#release(queued.reduce((total, pending) => total + pending.bytes, 0));
  }
}
