import { errorMessage, SyncError } from '../infra/runtime/errors';
import { logger } from '../infra/runtime/log';
import { setTimeout as delay } from 'node:timers/promises';
import { backoffMs } from '../infra/runtime/service';
import type { OffsetEvent } from './batch-plan';
import type { SourceTable } from '../schema/change-event';
import type { Mapping } from './mapping';
import { judgeProgress, type TopicBounds } from './progress-proof';
import type { SinkMetrics } from './metrics';
import { PendingChanges } from './pending-changes';
import { OffsetGapError, ProgressRewoundError, type ApplyResult, type SyncTarget } from './target';
import { UsersTableCount, type CountedUsersTable } from './users-table-count';

const log = logger('sink');

/** How often a database that owes a sweep but is not caught up yet is looked at again, in ms. */
const sweepCheckIntervalMs = 3_000;

/** Events per external transaction: large enough to amortise round trips, small enough to keep locks short. */
const maxEventsPerTransaction = 5_000;

export interface TargetStatus {
  tenancyId: string;
  databaseId: string;
  state: 'starting' | 'running' | 'paused' | 'error';
  /** Kafka offset last applied to this database (-1: nothing yet). */
  appliedOffset: string;
  /** Source commit time of the oldest change it has not applied, in ms (null: none known). */
  oldestPendingAtMillis: number | null;
  /** Change events in the topic after its position that the lane has seen (null: not known). */
  pendingEvents: number | null;
  lastError?: { code: string; message: string; at: string; mapping?: string; offset?: string };
  /** The users table as last counted in the database (null: not counted yet). */
  usersTable: CountedUsersTable | null;
}

export interface DatabaseSyncOptions {
  tenancyId: string;
  databaseId: string;
  target: SyncTarget;
  mappings: readonly Mapping[];
  metrics: SinkMetrics;
  /** Called whenever this database can take events again from a new position (prepared, recovered). */
  onReady(): void;
  /** Guards against deletes the topic can no longer tell (README "Deletes"); absent, nothing is checked. */
  completeness?: Completeness;
  /** Starts paused (the fusebox said so before the database was started). */
  paused?: boolean;
}

/** What a database needs to notice lost deletes and repair them. */
export interface Completeness {
  /** What the tenant topic still holds now. */
  bounds(): Promise<TopicBounds>;
  /** Which of these source rows exist now. */
  existing(table: SourceTable, ids: readonly string[]): Promise<Set<string>>;
  /** Asks the reader for a snapshot of the tenancy (the rows come back as `r` events). */
  requestSnapshot(): Promise<void>;
  /** The newest full-tenancy snapshot known to have finished (-1: none known yet). */
  latestFinishedSnapshot(): bigint;
}

/**
 * Where one external database stands: the offset its stored progress says it has applied, the
 * next offset it wants, and whether it can take events now. It is prepared once, then fed batches
 * by its tenant topic's lane; a failure puts it into backoff (reported, retried) without holding
 * back any other database.
 */
export class DatabaseSync {
  #phase: 'preparing' | 'ready' | 'failed' | 'closed' = 'preparing';
  /** Last offset the stored progress covers. */
  #covered = -1n;
  #next = 0n;
  #busy = false;
  #attempt = 0;
  #retryTimer: NodeJS.Timeout | undefined;
  #status: Omit<TargetStatus, 'oldestPendingAtMillis' | 'pendingEvents' | 'usersTable'>;
  readonly #usersCount: UsersTableCount;
  /** Switched off in the fusebox: takes no batch, keeps its position. */
  #paused: boolean;
  /** Its position was read from the database at least once, so `next` means something. */
  #positioned = false;
  /** What the lane has seen after this database's position (lag and backlog). */
  readonly pending = new PendingChanges();
  /** A sweep is owed (stored in the database too, so a crash does not forget it). */
  #sweepPending = false;
  /** Newest full-tenancy snapshot this database was swept after. */
  #sweptSnapshotId = -1n;
  #sweeping = false;
  #nextSweepCheckAt = 0;
  /**
   * Prepared with nothing applied: a database filled from the topic holds no row a delete could
   * have missed (a key whose delete compaction removed has no record left to insert it).
   */
  #startedEmpty = false;
  /** The newest snapshot that had finished when the database was prepared empty. */
  #emptyThroughSnapshot = -1n;

  constructor(private readonly options: DatabaseSyncOptions) {
    this.#status = { tenancyId: options.tenancyId, databaseId: options.databaseId, state: 'starting', appliedOffset: '-1' };
    this.#paused = options.paused ?? false;
    this.#usersCount = new UsersTableCount({ tenancyId: options.tenancyId, databaseId: options.databaseId });
    void this.#prepare();
  }

  get tenancyId(): string {
    return this.options.tenancyId;
  }

  get databaseId(): string {
    return this.options.databaseId;
  }

  get label(): string {
    return `${this.options.tenancyId}/${this.options.databaseId}`;
  }

  get status(): TargetStatus {
    const known = this.#positioned ? this.pending.at(this.#next) : undefined;
    const state = this.#paused && this.#status.state !== 'error' ? 'paused' : this.#status.state;
    return { ...this.#status, state, oldestPendingAtMillis: known?.oldestCommitMs ?? null, pendingEvents: known ? known.events : null, usersTable: this.#usersCount.figures };
  }

  /**
   * Counts the users table when it is due (see UsersTableCount), on the database's own
   * idle connection only (a count is skipped rather than cost a batch a connection). Not while
   * paused (an operator may have paused the database to work on it) or rebuilding. A failed count
   * keeps the last figures and backs off; the sync itself reports the database's trouble.
   */
  async countUsersTable(nowMs: number): Promise<void> {
    if (this.#phase !== 'ready' || this.#paused) return;
    await this.#usersCount.countIfDue(nowMs, this.#status.appliedOffset, () => this.options.target.measureUsersTable());
  }

  /** Can take a batch now: prepared, not paused, not in backoff, not applying another batch. */
  get available(): boolean {
    return this.#phase === 'ready' && !this.#busy && !this.#paused;
  }

  get paused(): boolean {
    return this.#paused;
  }

  /**
   * Whether the lane should keep reading on this database's behalf although it takes nothing now
   * (paused, or in backoff): to know its lag and backlog. Not while its position is unknown.
   */
  get watched(): boolean {
    return this.#positioned && !this.#busy && !this.available && this.#phase !== 'closed';
  }

  /** The fusebox switched this database off or on. Paused, it keeps its position; resumed, it catches up from there. */
  setPaused(paused: boolean): void {
    if (this.#paused === paused) return;
    this.#paused = paused;
    log.info(paused ? 'external database paused' : 'external database resumed', { tenancyId: this.options.tenancyId, databaseId: this.options.databaseId });
    if (!paused && this.#phase === 'ready') this.options.onReady();
  }

  /** Seconds since the commit of the oldest change this database has not applied (0: caught up as far as seen). */
  lagSeconds(nowMs: number): number {
    return this.#positioned ? this.pending.lagSeconds(this.#next, nowMs) : 0;
  }

  /** The next offset this database needs. */
  get next(): bigint {
    return this.#next;
  }

  /**
   * Applies a batch read from `fetchedFrom` that covers offsets up to `through` (its last record,
   * which may be past its last event). Events at or below the applied offset are skipped here,
   * without a round trip; the target skips them again under its progress lock. A batch that
   * starts after this database's next offset is refused: it would leave a gap.
   */
  async apply(events: readonly OffsetEvent[], fetchedFrom: bigint, through: bigint): Promise<void> {
    if (!this.available) return;
    if (fetchedFrom > this.#next) {
      this.#fail(new OffsetGapError(this.label, this.#covered, fetchedFrom));
      return;
    }
    if (through < this.#next) return;
    this.#busy = true;
    try {
      const fresh = events.filter((item) => item.offset > this.#covered && item.offset <= through);
      let from = fetchedFrom;
      // One external transaction per chunk; a chunk covers up to its last event, the last one the
      // rest of the batch (an empty batch of markers still records that it was covered).
      for (let start = 0; this.#phase === 'ready' && (start === 0 || start < fresh.length); start += maxEventsPerTransaction) {
        const chunk = fresh.slice(start, start + maxEventsPerTransaction);
        const last = start + maxEventsPerTransaction >= fresh.length;
        const chunkThrough = last ? through : chunk.at(-1)!.offset;
        const result = await this.options.target.apply(chunk, { fetchedFrom: from, through: chunkThrough, resumedFrom: this.#covered });
        this.#recordApplied(chunk, result);
        from = chunkThrough + 1n;
      }
      this.#attempt = 0;
    } catch (error: unknown) {
      this.#fail(error);
    } finally {
      this.#busy = false;
    }
  }

  /**
   * An operator's rebuild: empties the mapped tables and resets the stored progress (one target
   * transaction), then prepares again from nothing applied, so the lane reads the topic from its
   * start for this database alone. Rows edited, deleted or added behind the sink's back are gone,
   * and a position older than the topic's tombstones no longer matters: a database filled from
   * an empty state holds no row a lost delete could have left.
   */
  async rebuild(): Promise<void> {
    if (this.#phase === 'closed') return;
    this.#phase = 'preparing';
    clearTimeout(this.#retryTimer);
    this.#usersCount.reset();
    // The batch being applied commits (or fails) first: its progress must not land after the reset.
    // A count under way ends first too (its lock would hold the emptying back; it is bounded).
    while (this.#busy || this.#sweeping || this.#usersCount.counting) await delay(20);
    try {
      await this.options.target.reset();
    } catch (error: unknown) {
      this.#fail(error);
      throw error;
    }
    log.info('external database emptied for a rebuild; refilling it from the topic', { tenancyId: this.options.tenancyId, databaseId: this.options.databaseId });
    await this.#prepare();
  }

  /** Ready to take events (prepared, not failed), paused or not. */
  get ready(): boolean {
    return this.#phase === 'ready';
  }

  /** Fails this database at `offset` without a round trip (e.g. an unreadable event). */
  reject(error: SyncError): void {
    if (this.#phase === 'ready') this.#fail(error);
  }

  async close(): Promise<void> {
    this.#phase = 'closed';
    clearTimeout(this.#retryTimer);
    await this.options.target.close();
  }

  async #prepare(): Promise<void> {
    this.#phase = 'preparing';
    try {
      const progress = await this.options.target.prepare();
      if (this.#phase !== 'preparing') return;
      this.#covered = progress.coveredThrough;
      this.#sweepPending = progress.sweepPending;
      this.#sweptSnapshotId = progress.sweptSnapshotId;
      this.#startedEmpty = progress.coveredThrough === -1n && progress.sweptSnapshotId === -1n;
      // Only snapshots that had finished when it was empty are ones it can skip sweeping: a later
      // one (a lost slot's recovery) may be the only news of rows deleted since it was filled.
      this.#emptyThroughSnapshot = this.#startedEmpty ? (this.options.completeness?.latestFinishedSnapshot() ?? -1n) : -1n;
      await this.#proveProgress();
      if (this.#phase !== 'preparing') return;
      this.#next = this.#covered + 1n;
      this.#positioned = true;
      this.#phase = 'ready';
      this.#status = { tenancyId: this.options.tenancyId, databaseId: this.options.databaseId, state: 'running', appliedOffset: progress.appliedOffset.toString() };
      this.options.onReady();
    } catch (error: unknown) {
      this.#fail(error);
    }
  }

  /**
   * Whether the topic can still tell this database everything after its position; if not, a sweep
   * is recorded as owed, and when records were removed from the log the position moves past them
   * and a re-snapshot brings their rows back.
   */
  async #proveProgress(): Promise<void> {
    const completeness = this.options.completeness;
    // Nothing applied yet: missing tombstones cannot leave rows behind in an empty database, and
    // asking Kafka for a thousand new databases' topics at once costs a metadata refresh of every
    // topic each time (kafkajs), which tripled the start of a 1,000-tenancy sink.
    if (!completeness || this.#covered === -1n) return;
    const verdict = judgeProgress(this.#covered + 1n, await completeness.bounds());
    if (verdict.kind === 'provable') return;
    const context = { tenancyId: this.options.tenancyId, databaseId: this.options.databaseId, coveredOffset: this.#covered.toString() };
    if (verdict.kind === 'records-lost') {
      log.warn('records after this database’s position are gone from the topic; re-snapshotting the tenancy and sweeping', { ...context, logStart: verdict.logStart.toString() });
      await completeness.requestSnapshot();
      await this.options.target.requireSweep(verdict.logStart - 1n);
      if (verdict.logStart - 1n > this.#covered) this.#covered = verdict.logStart - 1n;
    } else if (verdict.kind === 'ahead-of-topic') {
      log.warn('this database’s position is past the end of its topic (recreated?); reading it again from there, re-snapshotting and sweeping', { ...context, end: verdict.end.toString() });
      await completeness.requestSnapshot();
      await this.options.target.requireSweep(undefined, verdict.end - 1n);
      this.#covered = verdict.end - 1n;
    } else {
      log.warn('this database is further behind than the topic keeps tombstones; it will be swept once caught up', context);
      await this.options.target.requireSweep();
    }
    this.#sweepPending = true;
  }

  /**
   * Called on every config poll with the newest full-tenancy snapshot that finished for this
   * tenancy: after one (and whenever a sweep is owed) the database is swept — rows whose source
   * row is gone are removed — once it has caught up to records recent enough to hold every delete.
   */
  async maintain(latestSnapshotId: bigint): Promise<void> {
    const completeness = this.options.completeness;
    if (!completeness || !this.available || this.#sweeping) return;
    const skippable = latestSnapshotId < this.#emptyThroughSnapshot ? latestSnapshotId : this.#emptyThroughSnapshot;
    if (this.#startedEmpty && !this.#sweepPending && skippable > this.#sweptSnapshotId) {
      // Everything it holds came from the topic after those snapshots finished: nothing to sweep.
      this.#startedEmpty = false;
      this.#sweeping = true;
      try {
        await this.options.target.markSwept(skippable);
        this.#sweptSnapshotId = skippable;
      } catch (error: unknown) {
        this.#startedEmpty = true;
        log.warn('could not record the snapshots an empty database needs no sweep for', { tenancyId: this.options.tenancyId, databaseId: this.options.databaseId, error: errorMessage(error) });
      } finally {
        this.#sweeping = false;
      }
      return;
    }
    this.#startedEmpty = false;
    if (latestSnapshotId <= this.#sweptSnapshotId && !this.#sweepPending) return;
    // A database still catching up is looked at again every few seconds, not on every poll: a
    // thousand of them would otherwise ask Kafka thousands of times a second.
    if (Date.now() < this.#nextSweepCheckAt) return;
    this.#nextSweepCheckAt = Date.now() + sweepCheckIntervalMs;
    this.#sweeping = true;
    try {
      let bounds: TopicBounds;
      try {
        bounds = await completeness.bounds();
      } catch (error: unknown) {
        // Kafka being away is not this database's failure: the next check asks again.
        log.warn('could not read the topic’s bounds for a sweep', { tenancyId: this.options.tenancyId, databaseId: this.options.databaseId, error: errorMessage(error) });
        return;
      }
      // Swept only from where no delete after the position can be missing: otherwise an old
      // create still to be applied could bring back a row whose delete is gone.
      if (judgeProgress(this.#next, bounds).kind !== 'provable' || !this.available) return;
      this.#busy = true;
      try {
        const snapshotId = latestSnapshotId > this.#sweptSnapshotId ? latestSnapshotId : this.#sweptSnapshotId;
        const removed = await this.options.target.sweep((table, ids) => completeness.existing(table, ids), snapshotId);
        this.#sweepPending = false;
        this.#sweptSnapshotId = snapshotId;
        log.info('external database swept', { tenancyId: this.options.tenancyId, databaseId: this.options.databaseId, removed, snapshotId: snapshotId.toString() });
      } finally {
        this.#busy = false;
      }
      this.options.onReady();
    } catch (error: unknown) {
      this.#fail(error);
    } finally {
      this.#sweeping = false;
    }
  }

  #fail(error: unknown): void {
    if (this.#phase === 'closed') return;
    if (error instanceof ProgressRewoundError) {
      log.info('stored progress was reset; rebuilding from it', { tenancyId: this.options.tenancyId, databaseId: this.options.databaseId });
      void this.#prepare();
      return;
    }
    this.#phase = 'failed';
    // Tenants see SyncErrors, whose messages are written for them; anything else (Kafka, the
    // internal database) may name our own hosts: they get a code, operators the log line below.
    const code = error instanceof SyncError ? error.code : 'SINK_INTERNAL_ERROR';
    const mapping = error instanceof SyncError ? error.context.mapping : undefined;
    const offset = error instanceof SyncError ? error.context.offset : undefined;
    this.#status = {
      ...this.#status,
      state: 'error',
      lastError: {
        code,
        message: error instanceof SyncError ? errorMessage(error) : 'the sync failed on our side; it is retried',
        at: new Date().toISOString(),
        ...(mapping !== undefined ? { mapping: String(mapping) } : {}),
        ...(offset !== undefined ? { offset: String(offset) } : {}),
      },
    };
    this.options.metrics.errors.inc({ database: this.label });
    const retryInMs = backoffMs(this.#attempt++, 500, 10_000);
    log.error('external database sync failed; retrying', {
      code,
      tenancyId: this.options.tenancyId,
      databaseId: this.options.databaseId,
      mapping,
      offset,
      appliedOffset: this.#status.appliedOffset,
      error: errorMessage(error),
      ...(error instanceof Error && error.cause !== undefined ? { cause: errorMessage(error.cause) } : {}),
      retryInMs,
    });
    // Prepared again before retrying: the owner may have repaired (or reset) the tables meanwhile.
    this.#retryTimer = setTimeout(() => void this.#prepare(), retryInMs);
  }

  #recordApplied(chunk: readonly OffsetEvent[], { applied, appliedOffset, coveredThrough }: ApplyResult): void {
    this.#covered = coveredThrough;
    if (coveredThrough >= this.#next) this.#next = coveredThrough + 1n;
    this.#status = { tenancyId: this.options.tenancyId, databaseId: this.options.databaseId, state: 'running', appliedOffset: appliedOffset.toString() };
    if (applied === 0) return;
    const { metrics } = this.options;
    const now = Date.now();
    for (const { event, offset, fromTombstone } of chunk.slice(chunk.length - applied)) {
      if (offset > appliedOffset || fromTombstone) continue;
      const lagSeconds = Math.max(0, now - event.source.ts_ms) / 1000;
      metrics.applyLagSeconds.observe({ database: this.label }, lagSeconds);
      metrics.tenancyApplyLagSeconds.observe({ tenancy: this.options.tenancyId }, lagSeconds);
      for (const mapping of this.options.mappings) {
        if (mapping.sourceTable === event.source.table) metrics.eventsApplied.inc({ mapping: mapping.name });
      }
    }
  }
}
