import type { Kafka } from 'kafkajs';
import type pg from 'pg';
import { tenantTopic } from '../schema/change-event';
import type { SecretBox } from '../schema/secret-box';
import type { TenantTopics } from '../cdc/tenant-topics';
import { errorMessage } from '../infra/runtime/errors';
import { logger } from '../infra/runtime/log';
import { Service, sleep } from '../infra/runtime/service';
import type { ExternalConnection } from '../schema/external-connection';
import type { ConnectionBudget } from './connection-budget';
import { DatabaseSync, type TargetStatus } from './database-sync';
import { loadExternalDatabases, type ExternalDatabase, type ExternalDatabaseProblem } from './external-databases';
import type { Mapping } from './mapping';
import type { SinkMetrics } from './metrics';
import { PostgresTarget } from './postgres-target';
import { SharedConsumer } from './shared-consumer';
import { TopicLane, WaitingBytes } from './topic-lane';

const log = logger('sink');

/** How often the advisory group offsets are committed (they only feed lag dashboards). */
const commitIntervalMs = 5_000;

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
}

interface RunningDatabase {
  fingerprint: string;
  sync: DatabaseSync;
  lane: TopicLane;
}

/**
 * Keeps the sink process's databases in line with project configs: one DatabaseSync per
 * configured external database, grouped into one lane per tenant topic, all fed by one shared
 * consumer. Databases that appear start syncing, removed ones stop, changed connection strings
 * restart theirs; config changes take effect within one poll, without a restart.
 */
export class SinkSupervisor extends Service {
  readonly #databases = new Map<string, RunningDatabase>();
  readonly #lanes = new Map<string, TopicLane>();
  readonly #consumer: SharedConsumer;
  readonly #waitingBytes = new WaitingBytes(maxWaitingBytes);
  #problems: ExternalDatabaseProblem[] = [];

  constructor(private readonly options: SinkSupervisorOptions) {
    super();
    this.#consumer = new SharedConsumer({
      kafka: options.kafka,
      groupId: options.groupId,
      sessionTimeoutMs: options.sessionTimeoutMs,
      onBatch: (topic, batch) => this.#lanes.get(topic)?.offer(batch),
      onAssigned: (topics) => {
        for (const lane of this.#lanes.values()) lane.setAssigned(topics.has(lane.topic));
      },
    });
  }

  statuses(): TargetStatus[] {
    const running = [...this.#databases.values()].map(({ sync }) => sync.status);
    const broken = this.#problems.map<TargetStatus>((problem) => ({
      tenancyId: problem.tenancyId,
      databaseId: problem.databaseId,
      state: 'error',
      appliedOffset: '-1',
      lastError: { code: problem.code, message: problem.message, at: new Date().toISOString() },
    }));
    return [...running, ...broken];
  }

  protected async run(signal: AbortSignal): Promise<void> {
    let lastCommit = Date.now();
    try {
      while (!signal.aborted) {
        try {
          const { databases, problems } = await loadExternalDatabases(this.options.internal, this.options.secrets);
          this.#problems = problems;
          await this.#reconcile(databases);
        } catch (error: unknown) {
          log.error('could not reconcile external database configs', { error: errorMessage(error) });
        }
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
    for (const [key, running] of this.#databases) {
      const database = wanted.get(key);
      if (database && database.fingerprint === running.fingerprint) continue;
      this.#databases.delete(key);
      running.lane.databases.delete(key);
      if (running.lane.databases.size === 0) {
        this.#lanes.delete(running.lane.topic);
        // Gives back what the lane kept waiting to the process's byte budget.
        running.lane.setAssigned(false);
      }
      log.info(database ? 'external database changed; restarting its sync' : 'external database removed; stopping its sync', { key });
      closing.push(running.sync.close().catch(() => undefined));
    }
    await Promise.all(closing);
    const added = databases.filter((database) => !this.#databases.has(database.key));
    if (added.length > 0) await this.options.topics.ensure(added.map((database) => tenantTopic(this.options.topicPrefix, database.tenancyId)));
    for (const database of added) this.#databases.set(database.key, this.#startDatabase(database));
    // One line per database while there are few; a count when a sink starts with thousands.
    if (added.length > 0 && added.length <= 10) for (const database of added) log.info('external database added; starting its sync', { key: database.key });
    else if (added.length > 10) log.info('external databases added; starting their sync', { count: added.length });
    await this.#consumer.subscribe(new Set(this.#lanes.keys()));
  }

  #startDatabase(database: ExternalDatabase): RunningDatabase {
    const { options } = this;
    const topic = tenantTopic(options.topicPrefix, database.tenancyId);
    let lane = this.#lanes.get(topic);
    if (!lane) {
      lane = new TopicLane(topic, database.tenancyId, this.#consumer, options.metrics, options.groupId, this.#waitingBytes);
      this.#lanes.set(topic, lane);
    }
    const laneOfDatabase = lane;
    const sync = new DatabaseSync({
      tenancyId: database.tenancyId,
      databaseId: database.databaseId,
      target: new PostgresTarget({
        connection: database.connection,
        label: database.key,
        topic,
        mappings: options.mappings,
        connections: options.connections,
      }),
      mappings: options.mappings,
      metrics: options.metrics,
      onReady: () => laneOfDatabase.reposition(),
    });
    lane.databases.set(database.key, sync);
    return { fingerprint: database.fingerprint, sync, lane };
  }

  async #commitAdvisoryOffsets(): Promise<void> {
    const positions = [...this.#lanes.values()].flatMap((lane) => {
      const offset = lane.committedPosition;
      return offset === undefined ? [] : [{ topic: lane.topic, offset }];
    });
    await this.#consumer.commit(positions).catch((error: unknown) => log.warn('could not commit advisory group offsets', { error: errorMessage(error) }));
  }
}
