/**
 * Fixed-window counters in this process's memory: enough for one API process; several processes
 * would each allow the limit (a shared store is future work).
 */
export class RateLimiter {
  readonly #windows = new Map<string, { count: number; resetsAt: number }>();

  constructor(private readonly now: () => number = Date.now) {}

  /** Seconds until `key` may try again, or 0 when it is under `limit` for the current window. */
  retryAfterSeconds(key: string, limit: number): number {
    const window = this.#windows.get(key);
    if (!window || window.resetsAt <= this.now() || window.count < limit) return 0;
    return Math.max(1, Math.ceil((window.resetsAt - this.now()) / 1000));
  }

  /** Counts one attempt of `key` in a window of `windowMs`. */
  hit(key: string, windowMs: number): void {
    const now = this.now();
    const window = this.#windows.get(key);
    if (!window || window.resetsAt <= now) this.#windows.set(key, { count: 1, resetsAt: now + windowMs });
    else window.count++;
    if (this.#windows.size > 100_000) this.#evictExpired(now);
  }

  reset(key: string): void {
    this.#windows.delete(key);
  }

  #evictExpired(now: number): void {
    for (const [key, window] of this.#windows) if (window.resetsAt <= now) this.#windows.delete(key);
  }
}
