import type { Kafka } from 'kafkajs';
import type pg from 'pg';
import { tenantTopic } from '../schema/change-event';
import type { SecretBox } from '../schema/secret-box';
import type { TenantTopics } from '../cdc/tenant-topics';
import { errorMessage } from '../infra/runtime/errors';
import { logger } from '../infra/runtime/log';
import { Service, sleep } from '../infra/runtime/service';
import { loadExternalDatabases, type ExternalDatabase, type ExternalDatabaseProblem } from './external-databases';
import type { Mapping } from './mapping';
import type { SinkMetrics } from './metrics';
import { PostgresTarget } from './postgres-target';
import { TargetWorker, type TargetStatus } from './target-worker';

const log = logger('sink');

export interface SinkSupervisorOptions {
  internal: pg.Pool;
  secrets: SecretBox;
  kafka: Kafka;
  topics: TenantTopics;
  topicPrefix: string;
  groupPrefix: string;
  mappings: readonly Mapping[];
  metrics: SinkMetrics;
  /** How often project configs are re-read, in ms. */
  pollMs: number;
  /** Kafka consumer session timeout, in ms. */
  sessionTimeoutMs: number;
}

/**
 * Keeps one TargetWorker per configured external database: starts workers for databases that
 * appear, stops those whose database was removed, restarts those whose connection string changed.
 * Config changes take effect within one poll, without a restart.
 */
export class SinkSupervisor extends Service {
  readonly #workers = new Map<string, { fingerprint: string; worker: TargetWorker }>();
  #problems: ExternalDatabaseProblem[] = [];

  constructor(private readonly options: SinkSupervisorOptions) {
    super();
  }

  statuses(): TargetStatus[] {
    const running = [...this.#workers.values()].map(({ worker }) => worker.status);
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
    try {
      while (!signal.aborted) {
        try {
          const { databases, problems } = await loadExternalDatabases(this.options.internal, this.options.secrets);
          this.#problems = problems;
          await this.#reconcile(databases);
        } catch (error: unknown) {
          log.error('could not read external database configs', { error: errorMessage(error) });
        }
        await sleep(this.options.pollMs, signal).catch(() => undefined);
      }
    } finally {
      await Promise.all([...this.#workers.values()].map(({ worker }) => worker.stop().catch(() => undefined)));
      this.#workers.clear();
    }
  }

  async #reconcile(databases: ExternalDatabase[]): Promise<void> {
    const wanted = new Map(databases.map((database) => [database.key, database]));
    const stopping: Promise<void>[] = [];
    for (const [key, running] of this.#workers) {
      const database = wanted.get(key);
      if (database && database.fingerprint === running.fingerprint) continue;
      this.#workers.delete(key);
      log.info(database ? 'external database changed; restarting its sync' : 'external database removed; stopping its sync', { key });
      stopping.push(running.worker.stop().catch(() => undefined));
    }
    await Promise.all(stopping);
    for (const database of databases) {
      if (this.#workers.has(database.key)) continue;
      this.#workers.set(database.key, { fingerprint: database.fingerprint, worker: this.#startWorker(database) });
      log.info('external database added; starting its sync', { key: database.key });
    }
  }

  #startWorker(database: ExternalDatabase): TargetWorker {
    const { options } = this;
    const topic = tenantTopic(options.topicPrefix, database.tenancyId);
    const worker = new TargetWorker({
      kafka: options.kafka,
      topics: options.topics,
      tenancyId: database.tenancyId,
      databaseId: database.databaseId,
      topic,
      groupId: `${options.groupPrefix}.${database.tenancyId}.${database.databaseId}`,
      target: new PostgresTarget({ connectionString: database.connectionString, label: database.key, topic, mappings: options.mappings }),
      mappings: options.mappings,
      metrics: options.metrics,
      sessionTimeoutMs: options.sessionTimeoutMs,
    });
    worker.start();
    worker.done.catch((error: unknown) => log.error('external database sync stopped', { key: database.key, error: errorMessage(error) }));
    return worker;
  }
}
