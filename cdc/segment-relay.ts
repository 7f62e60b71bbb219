/** What the relay pauses while a hand-over waits: the socket the messages come from. */
export interface Flow {
  pause(): void;
  resume(): void;
}

/**
 * Hands items over one at a time, in order, to a consumer that usually takes them at once and
 * sometimes needs to wait (its queue is full). Taken at once, an item costs no promise; while a
 * hand-over waits, the flow is paused and the items that still arrive (the rest of a socket read)
 * queue here, so memory stays bounded by one read. The first failure stops the relay: nothing after
 * a failed item is handed over.
 */
export class SegmentRelay<T> {
  readonly #queue: T[] = [];
  #waiting: Promise<void> | undefined;
  #failed = false;
  #closed = false;

  constructor(
    /** Returns nothing when it took the item, or a promise that settles once it has. */
    private readonly deliver: (item: T) => void | Promise<void>,
    private readonly flow: Flow,
    private readonly onFailure: (error: unknown) => void,
  ) {}

  push(item: T): void {
    if (this.#failed || this.#closed) return;
    if (this.#waiting) {
      this.#queue.push(item);
      return;
    }
    const pending = this.#handOver(item);
    if (!pending) return;
    this.flow.pause();
    this.#waiting = this.#drain(pending);
  }

  /**
   * Hands nothing over any more, not even what is queued: the stream stopped or failed, and nothing
   * after that point may be published (a queued first segment would also hold the open Kafka
   * transaction open, waiting for its transaction's end). A hand-over under way is not undone.
   */
  close(): void {
    this.#closed = true;
    this.#queue.length = 0;
  }

  /** Settles once every item pushed so far was handed over (or the relay failed or was closed). */
  async idle(): Promise<void> {
    while (this.#waiting) await this.#waiting;
  }

  #handOver(item: T): Promise<void> | undefined {
    try {
      const taken = this.deliver(item);
      return taken instanceof Promise ? taken : undefined;
    } catch (error: unknown) {
      this.#fail(error);
      return undefined;
    }
  }

  async #drain(first: Promise<void>): Promise<void> {
    let pending: Promise<void> | undefined = first;
    try {
      while (!this.#failed) {
        if (pending) await pending;
        // close() empties the queue: a closed relay stops here.
        if (this.#queue.length === 0) break;
        pending = this.#handOver(this.#queue.shift()!);
      }
    } catch (error: unknown) {
      this.#fail(error);
    } finally {
      this.#waiting = undefined;
      if (!this.#failed && !this.#closed) this.flow.resume();
    }
  }

  #fail(error: unknown): void {
    if (this.#failed) return;
    this.#failed = true;
    this.#queue.length = 0;
    this.onFailure(error);
  }
}
