import type { Kafka } from 'kafkajs';
import { changeEventSchema } from '../schema/change-event';
import type { TenantTopics } from '../cdc/tenant-topics';
import { errorMessage, SyncError } from '../infra/runtime/errors';
import { logger } from '../infra/runtime/log';
import { backoffMs, Service, sleep } from '../infra/runtime/service';
import type { OffsetEvent } from './batch-plan';
import type { Mapping } from './mapping';
import type { SinkMetrics } from './metrics';
import { ProgressRewoundError, type SyncTarget } from './target';

const log = logger('sink');

/** Events per external transaction: large enough to amortise round trips, small enough to keep locks short. */
const maxEventsPerTransaction = 5_000;

export interface TargetWorkerOptions {
  kafka: Kafka;
  topics: TenantTopics;
  tenancyId: string;
  databaseId: string;
  topic: string;
  groupId: string;
  target: SyncTarget;
  mappings: readonly Mapping[];
  metrics: SinkMetrics;
  /** Kafka consumer session timeout, in ms. */
  sessionTimeoutMs: number;
}

export interface TargetStatus {
  tenancyId: string;
  databaseId: string;
  state: 'starting' | 'running' | 'error';
  /** Kafka offset last applied to this database (-1: nothing yet). */
  appliedOffset: string;
  lastError?: { code: string; message: string; at: string; mapping?: string; offset?: string };
}

/**
 * Streams one tenant topic into one external database. Each database has its own consumer group
 * and its own retry loop, so a database that is down or rejects writes holds back only itself.
 * Where to resume comes from the database (its stored progress), never from Kafka's committed
 * offsets, which are advisory (they feed the lag metrics).
 */
export class TargetWorker extends Service {
  #status: TargetStatus;

  constructor(private readonly options: TargetWorkerOptions) {
    super();
    this.#status = { tenancyId: options.tenancyId, databaseId: options.databaseId, state: 'starting', appliedOffset: '-1' };
  }

  get status(): TargetStatus {
    return { ...this.#status };
  }

  protected async run(signal: AbortSignal): Promise<void> {
    try {
      for (let attempt = 0; !signal.aborted; attempt++) {
        try {
          await this.#session(signal);
          attempt = -1;
        } catch (error: unknown) {
          if (signal.aborted) return;
          if (error instanceof ProgressRewoundError) {
            log.info('stored progress was reset; rebuilding from it', { tenancyId: this.options.tenancyId, databaseId: this.options.databaseId });
            attempt = -1;
            continue;
          }
          const code = error instanceof SyncError ? error.code : 'SINK_TARGET_FAILED';
          const mapping = error instanceof SyncError ? error.context.mapping : undefined;
          const offset = error instanceof SyncError ? error.context.offset : undefined;
          this.#status = {
            ...this.#status,
            state: 'error',
            lastError: {
              code,
              message: errorMessage(error),
              at: new Date().toISOString(),
              ...(mapping !== undefined ? { mapping: String(mapping) } : {}),
              ...(offset !== undefined ? { offset: String(offset) } : {}),
            },
          };
          this.options.metrics.errors.inc({ database: this.#label });
          const retryInMs = backoffMs(attempt, 500, 10_000);
          log.error('external database sync failed; retrying', {
            code,
            tenancyId: this.options.tenancyId,
            databaseId: this.options.databaseId,
            mapping,
            offset,
            appliedOffset: this.#status.appliedOffset,
            error: errorMessage(error),
            retryInMs,
          });
          await sleep(retryInMs, signal).catch(() => undefined);
        }
      }
    } finally {
      await this.options.target.close();
    }
  }

  get #label(): string {
    return `${this.options.tenancyId}/${this.options.databaseId}`;
  }

  /** One consumer session: prepare, seek to the stored progress, apply until failure or stop. */
  async #session(signal: AbortSignal): Promise<void> {
    const { kafka, topic, target, metrics } = this.options;
    const progress = await target.prepare();
    // What this session has seen stored: progress below it later means a reset (a rebuild request).
    let appliedInSession = progress;
    this.#status = { ...this.#status, appliedOffset: progress.toString() };
    await this.options.topics.ensure([topic]);

    const { sessionTimeoutMs } = this.options;
    const consumer = kafka.consumer({
      groupId: this.options.groupId,
      allowAutoTopicCreation: false,
      maxWaitTimeInMs: 100,
      // Larger fetches mean larger external transactions when catching up a backlog.
      maxBytesPerPartition: 8 * 1024 * 1024,
      maxBytes: 16 * 1024 * 1024,
      // A SIGKILLed member stays in the group until its session times out, and a rebalance waits
      // for it up to the rebalance timeout: both bound how long a restarted sink waits to resume.
      sessionTimeout: sessionTimeoutMs,
      rebalanceTimeout: sessionTimeoutMs,
      heartbeatInterval: Math.max(100, Math.floor(sessionTimeoutMs / 5)),
    });
    let fail: (error: unknown) => void = () => undefined;
    const failed = new Promise<never>((_, reject) => {
      fail = reject;
    });
    consumer.on(consumer.events.CRASH, (event) => fail(event.payload.error));
    // The stop may already have come while prepare() ran: then this session ends at once.
    const stopped = signal.aborted ? Promise.resolve() : new Promise<void>((resolve) => signal.addEventListener('abort', () => resolve(), { once: true }));
    try {
      await consumer.connect();
      await consumer.subscribe({ topic, fromBeginning: true });
      await consumer.run({
        autoCommit: false,
        eachBatchAutoResolve: false,
        eachBatch: async ({ batch, resolveOffset, heartbeat, isRunning, isStale }) => {
          try {
            const events: OffsetEvent[] = [];
            for (const message of batch.messages) {
              // Tombstones exist for compaction only; the delete event before each did the work.
              if (message.value === null) continue;
              const parsed = changeEventSchema.safeParse(JSON.parse(message.value.toString('utf8')));
              if (!parsed.success) {
                throw new SyncError('SINK_INVALID_EVENT', `offset ${message.offset} of ${topic} is not a change event: ${parsed.error.message}`, {
                  topic,
                  offset: message.offset,
                });
              }
              events.push({ offset: BigInt(message.offset), event: parsed.data });
            }
            for (let start = 0; start < events.length && isRunning() && !isStale(); start += maxEventsPerTransaction) {
              const chunk = events.slice(start, start + maxEventsPerTransaction);
              const result = await target.apply(chunk, appliedInSession);
              appliedInSession = result.appliedOffset;
              this.#recordApplied(chunk, result.applied, result.appliedOffset);
              await heartbeat();
            }
            const last = batch.messages.at(-1);
            if (!last || !isRunning() || isStale()) return;
            resolveOffset(last.offset);
            const next = BigInt(last.offset) + 1n;
            // Advisory only (lag metrics, a cheap start for a new group member); never where to resume.
            await consumer.commitOffsets([{ topic, partition: batch.partition, offset: next.toString() }]);
            const backlog = Math.max(0, Number(BigInt(batch.highWatermark) - next));
            metrics.backlogEvents.set({ tenancy: this.options.tenancyId, database: this.options.databaseId }, backlog);
            metrics.consumerGroupLag.set({ consumergroup: this.options.groupId, topic, partition: String(batch.partition) }, backlog);
          } catch (error: unknown) {
            // End this session without resolving offsets: the next one resumes from the stored
            // progress. Pausing keeps kafkajs from refetching the batch while the session closes.
            consumer.pause([{ topic }]);
            fail(error);
          }
        },
      });
      // Applied before the first fetch: resume right after what the database has recorded.
      consumer.seek({ topic, partition: 0, offset: (progress + 1n).toString() });
      this.#status = { tenancyId: this.options.tenancyId, databaseId: this.options.databaseId, state: 'running', appliedOffset: progress.toString() };
      await Promise.race([stopped, failed]);
    } finally {
      await consumer.disconnect().catch(() => undefined);
    }
  }

  #recordApplied(chunk: readonly OffsetEvent[], applied: number, appliedOffset: bigint): void {
    this.#status = { tenancyId: this.options.tenancyId, databaseId: this.options.databaseId, state: 'running', appliedOffset: appliedOffset.toString() };
    if (applied === 0) return;
    const { metrics } = this.options;
    const now = Date.now();
    for (const { event, offset } of chunk.slice(chunk.length - applied)) {
      if (offset > appliedOffset) continue;
      metrics.applyLagSeconds.observe({ database: this.#label }, Math.max(0, now - event.source.ts_ms) / 1000);
      for (const mapping of this.options.mappings) {
        if (mapping.sourceTable === event.source.table) metrics.eventsApplied.inc({ mapping: mapping.name });
      }
    }
  }
}
