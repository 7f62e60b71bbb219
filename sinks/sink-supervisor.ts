import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import type { Kafka } from 'kafkajs';
import type pg from 'pg';
import { tenantTopic } from '../schema/change-event';
import type { SecretBox } from '../schema/secret-box';
import type { TenantTopics } from '../cdc/tenant-topics';
import { errorMessage } from '../infra/runtime/errors';
import { logger } from '../infra/runtime/log';
import { Service, sleep } from '../infra/runtime/service';
import type { FuseboxPoller } from '../infra/runtime/fusebox-poller';
import type { FuseboxState } from '../schema/fusebox';
import type { ExternalConnection } from '../schema/external-connection';
import type { ConnectionBudget } from './connection-budget';
import { DatabaseSync, type TargetStatus } from './database-sync';
import { loadExternalDatabases, type ExternalDatabase } from './external-databases';
import type { Mapping } from './mapping';
import type { SinkMetrics } from './metrics';
import { PostgresTarget } from './postgres-target';
import { SharedConsumer } from './shared-consumer';
import { SourceRows } from './source-rows';
import type { TopicHistory } from './topic-history';
import { requestSnapshot } from '../cdc/snapshotter';
import { TopicLane, WaitingBytes } from './topic-lane';

const log = logger('sink');

/** How often the advisory group offsets are committed (they only feed lag dashboards). */
const commitIntervalMs = 5_000;

/** Every database's status is written at least this often (the status API's staleness is twice this or more), in ms. */
const fullReportIntervalMs = 4_000;

/** Fetched records a process keeps waiting behind the batches being applied, all lanes together. */
const maxWaitingBytes = 64 * 1024 * 1024;

export interface SinkSupervisorOptions {
  internal: pg.Pool;
  secrets: SecretBox;
  kafka: Kafka;
  topics: TenantTopics;
  topicPrefix: string;
  /** The consumer group all sink processes share. */
  groupId: string;
  mappings: readonly Mapping[];
  metrics: SinkMetrics;
  connections: ConnectionBudget<pg.Client, ExternalConnection>;
  /** How often project configs are re-read, in ms. */
  pollMs: number;
  /** Kafka consumer session timeout, in ms. */
  sessionTimeoutMs: number;
  /** What tenant topics still hold (for databases that fell behind the tombstone retention). */
  history: TopicHistory;
  /** The reader's slot: its finished snapshots trigger sweeps, and re-snapshots are asked of it. */
  slot: string;
  /** Kill switches: databases switched off (globally, per project, or one by one) take nothing. */
  fusebox: FuseboxPoller;
}

/** A database's status with what its lane knows of the tenant topic. */
export interface ReportedStatus extends TargetStatus {
  /** The topic's end offset as last fetched (null: nothing fetched yet). */
  topicHighOffset: string | null;
}

interface RunningDatabase {
  projectId: string;
  databaseId: string;
  fingerprint: string;
  sync: DatabaseSync;
  lane: TopicLane;
}

/**
 * Keeps the sink process's databases in line with project configs and with what Kafka assigned
 * to it: a lane per configured tenant topic (all of them are subscribed, so the group can spread
 * them), and a DatabaseSync — prepared, connected, reported — only for the databases of the
 * topics this process was assigned. Databases that appear start syncing, removed ones stop,
 * changed connection strings restart theirs; config changes take effect within one poll, without
 * a restart. What it serves is written to "SinkDatabaseStatus" every poll, so the status API sees
 * every process, not only its own.
 */
export class SinkSupervisor extends Service {
  /** Every external database the configs name, by key. */
  readonly #configured = new Map<string, ExternalDatabase>();
  /** Those this process serves now (their topic is assigned to it). */
  readonly #databases = new Map<string, RunningDatabase>();
  readonly #lanes = new Map<string, TopicLane>();
  #assigned: ReadonlySet<string> = new Set();
  /** Between a consumer's end and the next group join: lanes take nothing, databases stay prepared. */
  #suspended = false;
  readonly #consumer: SharedConsumer;
  /** Newest finished snapshot per tenancy (null: of every tenancy), read on every poll. */
  #finishedSnapshots = new Map<string | null, bigint>();
  readonly #waitingBytes = new WaitingBytes(maxWaitingBytes);
  readonly #sourceRows: SourceRows;
  /** What was last written to "SinkDatabaseStatus" per database, and when everything was. */
  readonly #reported = new Map<string, string>();
  #lastFullReportAt = 0;
  readonly #processId = `${hostname()}:${process.pid}:${randomBytes(3).toString('hex')}`;
  /** Rebuilds this process runs, by "SinkRebuild".id: the database and the offset it is done at. */
  readonly #rebuilds = new Map<string, { key: string; sync: DatabaseSync; total: bigint; failed: boolean }>();

  constructor(private readonly options: SinkSupervisorOptions) {
    super();
    this.#sourceRows = new SourceRows(options.internal);
    options.metrics.databaseLags = () => this.#lags();
    options.fusebox.onChange((state) => this.#obey(state));
    this.#consumer = new SharedConsumer({
      kafka: options.kafka,
      groupId: options.groupId,
      sessionTimeoutMs: options.sessionTimeoutMs,
      onBatch: (topic, batch) => this.#lanes.get(topic)?.offer(batch),
      onAssigned: (topics) => {
        this.#assigned = topics;
        this.#suspended = false;
        // After a group join the consumer reads from the group offsets: every lane repositions.
        this.#applyAssignment(true);
      },
      // Databases stay prepared while the consumer is replaced; the next join says who owns what.
      onSuspended: () => {
        this.#suspended = true;
        for (const lane of this.#lanes.values()) lane.setAssigned(false);
      },
    });
  }

  /** How this process signs its status reports. */
  get processId(): string {
    return this.#processId;
  }

  /** The databases this process serves, as they stand. */
  statuses(): ReportedStatus[] {
    return [...this.#databases.values()].map(({ sync, lane }) => ({ ...sync.status, topicHighOffset: lane.highWatermark?.toString() ?? null }));
  }

  /** Pauses and resumes the databases served as the fusebox says (called on every change of it). */
  #obey(state: FuseboxState): void {
    for (const { projectId, databaseId, sync } of this.#databases.values()) sync.setPaused(state.databasePausedBy(projectId, databaseId) !== undefined);
  }

  *#lags(): Iterable<{ tenancyId: string; databaseId: string; lagSeconds: number }> {
    const now = Date.now();
    for (const { sync } of this.#databases.values()) yield { tenancyId: sync.tenancyId, databaseId: sync.databaseId, lagSeconds: sync.lagSeconds(now) };
  }

  protected async run(signal: AbortSignal): Promise<void> {
    let lastCommit = Date.now();
    // A restarted process comes back with the switches as they were: nothing starts before they are read.
    await Promise.race([this.options.fusebox.loaded, new Promise((resolve) => signal.addEventListener('abort', resolve, { once: true }))]);
    try {
      while (!signal.aborted) {
        this.#consumer.restartIfStalled();
        try {
          const { databases } = await loadExternalDatabases(this.options.internal, this.options.secrets);
          await this.#reconcile(databases);
        } catch (error: unknown) {
          log.error('could not reconcile external database configs', { error: errorMessage(error) });
        }
        await this.#maintainDatabases().catch((error: unknown) => log.warn('could not check finished snapshots', { error: errorMessage(error) }));
        await this.#serveRebuilds().catch((error: unknown) => log.warn('could not serve rebuild requests', { error: errorMessage(error) }));
        await this.#reportStatuses().catch((error: unknown) => log.warn('could not report external database statuses', { error: errorMessage(error) }));
        if (Date.now() - lastCommit >= commitIntervalMs) {
          lastCommit = Date.now();
          await this.#commitAdvisoryOffsets();
        }
        await sleep(this.options.pollMs, signal).catch(() => undefined);
      }
    } finally {
      await this.#consumer.close();
      await Promise.all([...this.#databases.values()].map(({ sync }) => sync.close().catch(() => undefined)));
      this.#databases.clear();
      this.#lanes.clear();
    }
  }

  async #reconcile(databases: ExternalDatabase[]): Promise<void> {
    const wanted = new Map(databases.map((database) => [database.key, database]));
    const closing: Promise<void>[] = [];
    for (const [key, configured] of this.#configured) {
      const database = wanted.get(key);
      if (database && database.fingerprint === configured.fingerprint) continue;
      this.#configured.delete(key);
      const running = this.#databases.get(key);
      if (running) {
        log.info(database ? 'external database changed; restarting its sync' : 'external database removed; stopping its sync', { key });
        closing.push(this.#stopDatabase(key, running));
      }
    }
    await Promise.all(closing);
    const added = databases.filter((database) => !this.#configured.has(database.key));
    if (added.length > 0) await this.options.topics.ensure(added.map((database) => this.#topicOf(database)));
    for (const database of added) {
      this.#configured.set(database.key, database);
      const topic = this.#topicOf(database);
      if (!this.#lanes.has(topic)) {
        this.#lanes.set(topic, new TopicLane(topic, database.tenancyId, this.#consumer, this.options.metrics, this.options.groupId, this.#waitingBytes));
      }
    }
    // Lanes whose last database went away.
    const configuredTopics = new Set([...this.#configured.values()].map((database) => this.#topicOf(database)));
    for (const [topic, lane] of this.#lanes) {
      if (configuredTopics.has(topic)) continue;
      this.#lanes.delete(topic);
      // Gives back what the lane kept waiting to the process's byte budget.
      lane.setAssigned(false);
    }
    // One line per database while there are few; a count when a sink starts with thousands.
    if (added.length > 0 && added.length <= 10) for (const database of added) log.info('external database configured', { key: database.key });
    else if (added.length > 10) log.info('external databases configured', { count: added.length });
    this.#applyAssignment(false);
    await this.#consumer.subscribe(new Set(this.#lanes.keys()));
  }

  /**
   * Serves the databases of assigned topics, and only those: the others are another process's.
   * `rejoined`: the consumer just joined its group, so every assigned lane repositions; otherwise
   * only lanes whose assignment changed are told.
   */
  #applyAssignment(rejoined: boolean): void {
    for (const [key, running] of this.#databases) {
      if (!this.#assigned.has(running.lane.topic) || !this.#lanes.has(running.lane.topic)) void this.#stopDatabase(key, running);
    }
    for (const database of this.#configured.values()) {
      const topic = this.#topicOf(database);
      if (this.#assigned.has(topic) && !this.#databases.has(database.key)) this.#databases.set(database.key, this.#startDatabase(database));
    }
    for (const lane of this.#lanes.values()) {
      const assigned = !this.#suspended && this.#assigned.has(lane.topic);
      if (rejoined || lane.assigned !== assigned) lane.setAssigned(assigned);
    }
  }

  #topicOf(database: ExternalDatabase): string {
    return tenantTopic(this.options.topicPrefix, database.tenancyId);
  }

  async #stopDatabase(key: string, running: RunningDatabase): Promise<void> {
    if (this.#databases.get(key) === running) this.#databases.delete(key);
    running.lane.databases.delete(key);
    await running.sync.close().catch(() => undefined);
  }

  #startDatabase(database: ExternalDatabase): RunningDatabase {
    const { options } = this;
    const topic = this.#topicOf(database);
    const lane = this.#lanes.get(topic)!;
    const sync = new DatabaseSync({
      tenancyId: database.tenancyId,
      databaseId: database.databaseId,
      target: new PostgresTarget({
        connection: database.connection,
        label: database.key,
        connectionKey: `${database.key}#${database.fingerprint}`,
        topic,
        mappings: options.mappings,
        connections: options.connections,
      }),
      mappings: options.mappings,
      metrics: options.metrics,
      paused: options.fusebox.state.databasePausedBy(database.projectId, database.databaseId) !== undefined,
      onReady: () => lane.reposition(),
      completeness: {
        bounds: () => options.history.bounds(topic),
        existing: (table, ids) => this.#sourceRows.existing(database.tenancyId, table, ids),
        requestSnapshot: async () => {
          await requestSnapshot(options.internal, options.slot, database.tenancyId);
        },
        latestFinishedSnapshot: () => this.#latestFinishedSnapshot(database.tenancyId),
      },
    });
    lane.databases.set(database.key, sync);
    return { projectId: database.projectId, databaseId: database.databaseId, fingerprint: database.fingerprint, sync, lane };
  }

  /**
   * Operators' rebuild requests ("SinkRebuild", written by the API) for databases this process
   * serves: each is claimed, its database emptied and refilled from the topic (with a re-snapshot
   * of the tenancy asked for as well), and its progress written until it reached the end the topic
   * had when it began.
   */
  async #serveRebuilds(): Promise<void> {
    if (this.#databases.size === 0 && this.#rebuilds.size === 0) return;
    const { internal } = this.options;
    const requests = await internal.query<{ id: string; tenancy_id: string; database_id: string; state: string }>(
      `SELECT id::text, "tenancyId"::text AS tenancy_id, "databaseId" AS database_id, state FROM "SinkRebuild" WHERE state IN ('pending', 'running') ORDER BY id`,
    );
    for (const request of requests.rows) {
      const key = `${request.tenancy_id}/${request.database_id}`;
      const running = this.#databases.get(key);
      const ours = this.#rebuilds.get(request.id);
      if (ours) {
        if (running?.sync !== ours.sync || ours.failed) {
          // The database moved to another process (or was removed), or could not be emptied: it
          // is claimed again (by whoever serves it then) and starts over.
          this.#rebuilds.delete(request.id);
          await internal.query(`UPDATE "SinkRebuild" SET state = 'pending' WHERE id = $1`, [request.id]);
          continue;
        }
        const next = ours.sync.next;
        const done = ours.sync.ready && next >= ours.total;
        await internal.query(`UPDATE "SinkRebuild" SET "recordsDone" = $2, state = $3, "finishedAt" = CASE WHEN $3 = 'done' THEN now() END WHERE id = $1`, [
          request.id,
          (next < ours.total ? next : ours.total).toString(),
          done ? 'done' : 'running',
        ]);
        if (done) {
          this.#rebuilds.delete(request.id);
          log.info('external database rebuilt', { key, records: ours.total.toString() });
        }
        continue;
      }
      // Not served here (another process's, or not assigned yet): left for its owner. A paused
      // database is rebuilt once resumed: emptying it now would leave it empty while paused.
      if (!running || running.sync.paused) continue;
      const topic = running.lane.topic;
      const { end } = await this.options.history.bounds(topic);
      const claimed = await internal.query(`UPDATE "SinkRebuild" SET state = 'running', "recordsDone" = 0, "recordsTotal" = $2 WHERE id = $1 AND state = $3`, [
        request.id,
        end.toString(),
        request.state,
      ]);
      if (claimed.rowCount !== 1) continue;
      const snapshotId = await requestSnapshot(internal, this.options.slot, running.sync.tenancyId);
      await internal.query(`UPDATE "SinkRebuild" SET "snapshotId" = $2 WHERE id = $1`, [request.id, snapshotId]);
      log.info('rebuilding external database', { key, records: end.toString() });
      const rebuild = { key, sync: running.sync, total: end, failed: false };
      this.#rebuilds.set(request.id, rebuild);
      running.sync.rebuild().catch((error: unknown) => {
        rebuild.failed = true;
        log.warn('could not empty the external database for its rebuild; retrying', { key, error: errorMessage(error) });
      });
    }
  }

  /** Lets each database served sweep after the newest snapshot of its tenancy (or of all) that finished. */
  async #maintainDatabases(): Promise<void> {
    if (this.#configured.size === 0) return;
    const result = await this.options.internal.query<{ tenancy_id: string | null; latest: string }>(
      `SELECT "tenancyId"::text AS tenancy_id, max(id)::text AS latest FROM "CdcSnapshot" WHERE "slotName" = $1 AND state = 'done' GROUP BY "tenancyId"`,
      [this.options.slot],
    );
    // Kept also for databases not started yet: what had finished when one is prepared empty.
    this.#finishedSnapshots = new Map(result.rows.map((row) => [row.tenancy_id, BigInt(row.latest)]));
    const now = Date.now();
    for (const { sync } of this.#databases.values()) {
      void sync.maintain(this.#latestFinishedSnapshot(sync.tenancyId));
      void sync.countUsersTable(now);
    }
  }

  /** The newest finished snapshot covering `tenancyId` (its own or of every tenancy), as last read. */
  #latestFinishedSnapshot(tenancyId: string): bigint {
    const own = this.#finishedSnapshots.get(tenancyId) ?? -1n;
    const everyTenancy = this.#finishedSnapshots.get(null) ?? -1n;
    return own > everyTenancy ? own : everyTenancy;
  }

  /**
   * One statement per poll for the databases whose status changed, and for all of them every few
   * seconds (so a report's age says whether anyone serves the database): a thousand unchanged
   * rows are not rewritten on every poll.
   */
  async #reportStatuses(): Promise<void> {
    const now = Date.now();
    const everything = now - this.#lastFullReportAt >= fullReportIntervalMs;
    const statuses = this.statuses().filter((status) => everything || this.#reported.get(`${status.tenancyId}/${status.databaseId}`) !== JSON.stringify(status));
    if (statuses.length === 0) return;
    await this.options.internal.query(
      `INSERT INTO "SinkDatabaseStatus" ("tenancyId", "databaseId", state, "appliedOffset", "lastError", "oldestPendingAtMillis", "pendingEvents", "usersTable", "topicHighOffset", "reportedBy", "reportedAt")
       SELECT s."tenancyId", s."databaseId", s.state, s."appliedOffset", s."lastError", s."oldestPendingAtMillis", s."pendingEvents", s."usersTable", s."topicHighOffset", $2, now()
         FROM jsonb_to_recordset($1::jsonb) AS s("tenancyId" uuid, "databaseId" text, state text, "appliedOffset" bigint, "lastError" jsonb, "oldestPendingAtMillis" bigint, "pendingEvents" bigint, "usersTable" jsonb, "topicHighOffset" bigint)
       ON CONFLICT ("tenancyId", "databaseId") DO UPDATE
         SET state = EXCLUDED.state, "appliedOffset" = EXCLUDED."appliedOffset", "lastError" = EXCLUDED."lastError",
             "oldestPendingAtMillis" = EXCLUDED."oldestPendingAtMillis", "pendingEvents" = EXCLUDED."pendingEvents",
             -- A process that took the database over has not counted or fetched yet: the last figures stand.
             "usersTable" = COALESCE(EXCLUDED."usersTable", "SinkDatabaseStatus"."usersTable"),
             "topicHighOffset" = GREATEST(EXCLUDED."topicHighOffset", "SinkDatabaseStatus"."topicHighOffset"),
             "reportedBy" = EXCLUDED."reportedBy", "reportedAt" = EXCLUDED."reportedAt"`,
      [
        JSON.stringify(
          statuses.map((status) => ({
            tenancyId: status.tenancyId,
            databaseId: status.databaseId,
            state: status.state,
            appliedOffset: status.appliedOffset,
            lastError: status.lastError ?? null,
            oldestPendingAtMillis: status.oldestPendingAtMillis,
            pendingEvents: status.pendingEvents,
            usersTable: status.usersTable,
            topicHighOffset: status.topicHighOffset,
          })),
        ),
        this.#processId,
      ],
    );
    if (everything) {
      this.#lastFullReportAt = now;
      this.#reported.clear();
    }
    for (const status of statuses) this.#reported.set(`${status.tenancyId}/${status.databaseId}`, JSON.stringify(status));
  }

  async #commitAdvisoryOffsets(): Promise<void> {
    const positions = [...this.#lanes.values()].flatMap((lane) => {
      const offset = lane.committedPosition;
      return offset === undefined ? [] : [{ topic: lane.topic, offset }];
    });
    await this.#consumer.commit(positions).catch((error: unknown) => log.warn('could not commit advisory group offsets', { error: errorMessage(error) }));
  }
}
