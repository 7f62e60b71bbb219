import { setTimeout as delay } from 'node:timers/promises';
import { isAbortError } from './errors';

/**
 * A long-running part: `start()` begins `run(signal)`; `stop()` aborts the one signal and awaits
 * the run to finish, so no timer or connection outlives it.
 */
export abstract class Service {
  readonly #controller = new AbortController();
  #running: Promise<void> | undefined;

  protected abstract run(signal: AbortSignal): Promise<void>;

  start(): this {
    this.#running ??= this.run(this.#controller.signal).catch((error: unknown) => {
      if (!isAbortError(error)) throw error;
    });
    return this;
  }

  /** Resolves when the service has stopped by itself or been stopped; rejects on a fatal error. */
  get done(): Promise<void> {
    return this.#running ?? Promise.resolve();
  }

  async stop(): Promise<void> {
    this.#controller.abort();
    await this.#running;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.stop();
  }
}

/** Sleeps unless aborted; rejects with an AbortError on shutdown. */
export function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return delay(ms, undefined, { signal });
}

/** Exponential backoff with jitter: attempt 0 → ~base, capped at `maxMs`. */
export function backoffMs(attempt: number, baseMs = 200, maxMs = 10_000): number {
  const exponential = Math.min(maxMs, baseMs * 2 ** Math.min(attempt, 16));
  return Math.round(exponential / 2 + (Math.random() * exponential) / 2);
}
