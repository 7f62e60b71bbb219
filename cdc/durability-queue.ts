import type { Lsn } from './lsn';

interface Awaiting {
  readonly commitEndLsn: Lsn;
  durable: boolean;
}

/**
 * Transactions handed over, in commit order, until they are durable downstream. The slot may
 * only move past a commit once it and every commit before it are durable: `takeDurable` returns
 * the end of the last commit of the durable prefix, however their receipts resolved.
 */
export class DurabilityQueue {
  #entries: Awaiting[] = [];
  #head = 0;

  get size(): number {
    return this.#entries.length - this.#head;
  }

  /** Adds the next commit; mark the returned entry durable when its receipt is. */
  add(commitEndLsn: Lsn): Awaiting {
    const entry: Awaiting = { commitEndLsn, durable: false };
    this.#entries.push(entry);
    return entry;
  }

  /** Removes the durable prefix and returns its last commit's end (undefined if the head is not durable). */
  takeDurable(): Lsn | undefined {
    let last: Lsn | undefined;
    while (this.#head < this.#entries.length && this.#entries[this.#head]!.durable) last = this.#entries[this.#head++]!.commitEndLsn;
    // Compact now and then instead of shifting one entry at a time.
    if (this.#head > 1024 && this.#head * 2 > this.#entries.length) {
      this.#entries = this.#entries.slice(this.#head);
      this.#head = 0;
    }
    return last;
  }
}
