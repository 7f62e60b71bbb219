import { errorMessage } from '../infra/runtime/errors';
import { logger } from '../infra/runtime/log';
import { backoffMs } from '../infra/runtime/service';
import type { UsersTableFigures } from './target';

const log = logger('sink');

/**
 * The users table is counted again this soon after the database applied something new, and this
 * long after the last count while nothing new came (rows edited behind the sink's back); either
 * only while the database has an idle connection of its own (see PostgresTarget.measureUsersTable),
 * so a thousand idle databases cost no connection.
 */
const usersCountAfterChangeMs = 5_000;
const usersCountRefreshMs = 5 * 60_000;

export type CountedUsersTable = UsersTableFigures & { measuredAtMillis: number };

/**
 * When one external database's users table is due to be counted (the status API's `users_table`),
 * and what it held at the last count. A failed count keeps the last figures and backs off.
 */
export class UsersTableCount {
  figures: CountedUsersTable | null = null;
  /** The applied offset the last count was made at. */
  #countedAtOffset: string | undefined;
  #counting = false;
  #failures = 0;
  #backoffUntil = 0;
  /** Moves on at every reset: a count begun before one is not shown after it. */
  #generation = 0;

  constructor(private readonly context: { tenancyId: string; databaseId: string }) {}

  get counting(): boolean {
    return this.#counting;
  }

  /** The table is being emptied (a rebuild): what was counted no longer holds. */
  reset(): void {
    this.#generation++;
    this.figures = null;
  }

  /** Counts with `measure` when due at `appliedOffset`; `measure` answers undefined when it could not count now. */
  async countIfDue(nowMs: number, appliedOffset: string, measure: () => Promise<UsersTableFigures | undefined>): Promise<void> {
    if (this.#counting || nowMs < this.#backoffUntil) return;
    const sinceLast = this.figures === null ? Infinity : nowMs - this.figures.measuredAtMillis;
    const changed = this.#countedAtOffset !== appliedOffset;
    if (!(changed ? sinceLast >= usersCountAfterChangeMs : sinceLast >= usersCountRefreshMs)) return;
    this.#counting = true;
    const generation = this.#generation;
    try {
      const figures = await measure();
      if (figures === undefined || generation !== this.#generation) return;
      this.figures = { ...figures, measuredAtMillis: Date.now() };
      this.#countedAtOffset = appliedOffset;
      this.#failures = 0;
    } catch (error: unknown) {
      this.#backoffUntil = Date.now() + backoffMs(this.#failures++, 5_000, usersCountRefreshMs);
      log.info('could not count the users table', { ...this.context, error: errorMessage(error) });
    } finally {
      this.#counting = false;
    }
  }
}
