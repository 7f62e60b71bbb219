import type pg from 'pg';
import { FuseboxState, switchRowSchema } from '../../schema/fusebox';
import { errorMessage } from './errors';
import { logger } from './log';
import { Service, sleep } from './service';

const log = logger('fusebox');

/** How often the switches are re-read, in ms: processes obey a switch within about this long. */
export const fuseboxPollMs = 500;

/**
 * Keeps a process's view of the fusebox ("SyncSwitch") fresh by polling it: one small indexed
 * read per interval, and no LISTEN connection to keep alive through failovers. Until the first
 * read the state is unknown; `loaded` resolves after it, so a restarted process comes back with
 * the switches as they were (paused stays paused). When the internal database is unreachable the
 * last state read stays in force.
 */
export class FuseboxPoller extends Service {
  #state: FuseboxState | undefined;
  readonly #listeners = new Set<(state: FuseboxState) => void>();
  #markLoaded: () => void = () => undefined;
  readonly loaded: Promise<void> = new Promise((resolve) => (this.#markLoaded = resolve));

  constructor(
    private readonly internal: pg.Pool,
    private readonly pollMs = fuseboxPollMs,
  ) {
    super();
  }

  /** The switches as last read (all on before the first read). */
  get state(): FuseboxState {
    return this.#state ?? FuseboxState.allOn;
  }

  /** Calls `listener` after every read that changed the switches (and after the first). */
  onChange(listener: (state: FuseboxState) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** Reads the switches now. */
  async refresh(): Promise<FuseboxState> {
    const result = await this.internal.query(`SELECT scope, "projectId", "databaseId", name, enabled FROM "SyncSwitch"`);
    const state = new FuseboxState(result.rows.map((row: unknown) => switchRowSchema.parse(row)));
    const changed = this.#state === undefined || this.#state.fingerprint !== state.fingerprint;
    this.#state = state;
    this.#markLoaded();
    if (changed) for (const listener of this.#listeners) listener(state);
    return state;
  }

  protected async run(signal: AbortSignal): Promise<void> {
    let failing = false;
    while (!signal.aborted) {
      try {
        await this.refresh();
        if (failing) log.info('fusebox readable again');
        failing = false;
      } catch (error: unknown) {
        if (!failing) log.warn('could not read the fusebox; the last switches read stay in force', { error: errorMessage(error) });
        failing = true;
      }
      await sleep(this.pollMs, signal).catch(() => undefined);
    }
  }
}
