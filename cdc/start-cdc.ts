import pg from 'pg';
import type { RowImage, SourceTable } from '../schema/change-event';
import type { Registry } from 'prom-client';
import type { EnvConfig } from '../schema/env-config';
import { kafkaClient } from '../infra/runtime/kafka-client';
import { KafkaPublisher, positionRecord } from './kafka-publisher';
import { CdcMetrics } from './metrics';
import { PgChangeSource } from './pg-change-source';
import { CdcReader } from './reader';
import { readSlotHealth } from './slot-health';
import { Snapshotter } from './snapshotter';
import { TenantTopics } from './tenant-topics';
import { FuseboxPoller } from '../infra/runtime/fusebox-poller';
import { oldestUnpublishedCommitMs } from './source-lag';
import { survivePoolErrors } from '../infra/runtime/pg-pool-errors';

export type CdcConfig = Pick<
  EnvConfig,
  'DATABASE_URL' | 'KAFKA_BROKERS' | 'CDC_SLOT' | 'CDC_PUBLICATION' | 'CDC_TOPIC_PREFIX' | 'CDC_EVENT_FORMAT' | 'KAFKA_TOPIC_REPLICATION_FACTOR' | 'KAFKA_TOPIC_DELETE_RETENTION_MS' | 'CDC_HEARTBEAT_INTERVAL_MS' | 'CDC_SNAPSHOT_CHUNK_ROWS'
>;

export interface RunningCdc {
  reader: CdcReader;
  /** The kill switches this reader obeys (`cdc_enabled`). */
  fusebox: FuseboxPoller;
  stop(): Promise<void>;
}

/** Wires the cdc part: replication slot → reader → transactional Kafka producer. */
export async function startCdc(
  config: CdcConfig,
  registry: Registry,
  observe?: {
    onDurable?: (commitToPublishMs: number, events: number) => void;
    /** Runs between a snapshot chunk's read and its HIGH watermark (tests). */
    afterSnapshotRead?: (table: SourceTable, rows: readonly RowImage[]) => Promise<void>;
  },
): Promise<RunningCdc> {
  const kafka = kafkaClient(config.KAFKA_BROKERS, `stack-sync-cdc-${config.CDC_SLOT}`);
  const admin = kafka.admin();
  try {
    await admin.connect();
  } catch (error: unknown) {
    // A broker that is down at start: the caller retries, and nothing of this attempt may linger.
    await admin.disconnect().catch(() => undefined);
    throw error;
  }

  const source = new PgChangeSource({
    connectionString: config.DATABASE_URL,
    slot: config.CDC_SLOT,
    publication: config.CDC_PUBLICATION,
    heartbeatIntervalMs: config.CDC_HEARTBEAT_INTERVAL_MS,
  });
  // The slot gauges keep reporting after a failed start (when something is wrong is when they matter),
  // so they sample through a pool of their own that such a failure leaves open.
  const slotPool = new pg.Pool({ connectionString: config.DATABASE_URL, max: 1, idleTimeoutMillis: 5_000, allowExitOnIdle: true });
  survivePoolErrors(slotPool);
  let reader: CdcReader | undefined;
  const metrics = new CdcMetrics(
    registry,
    config.CDC_SLOT,
    () => readSlotHealth(slotPool, config.CDC_SLOT),
    () => sourceLagSeconds(slotPool, config, reader),
  );
  const fuseboxPool = new pg.Pool({ connectionString: config.DATABASE_URL, max: 1, idleTimeoutMillis: 5_000 });
  survivePoolErrors(fuseboxPool);
  const fusebox = new FuseboxPoller(fuseboxPool);
  try {
    await source.prepare();
    // Read before the reader starts: a restarted reader that was switched off stays off.
    await fusebox.refresh();
  } catch (error: unknown) {
    // Nothing may outlive a failed start: close what was opened above.
    await Promise.allSettled([admin.disconnect(), source.close(), fuseboxPool.end()]);
    throw error;
  }
  fusebox.start();
  const enabled = { get enabled() { return fusebox.state.cdcEnabled; }, onChange: (listener: () => void) => fusebox.onChange(listener) };
  const topics = new TenantTopics(admin, config.KAFKA_TOPIC_REPLICATION_FACTOR, config.KAFKA_TOPIC_DELETE_RETENTION_MS);
  const publisher = new KafkaPublisher(kafka, admin, topics, positionRecord(config.CDC_TOPIC_PREFIX, config.CDC_SLOT), config.CDC_EVENT_FORMAT);
  const snapshotter = new Snapshotter(source.catalog, config.CDC_SLOT, config.CDC_SNAPSHOT_CHUNK_ROWS, observe?.afterSnapshotRead);
  const running = new CdcReader({ source, publisher, topicPrefix: config.CDC_TOPIC_PREFIX, eventFormat: config.CDC_EVENT_FORMAT, metrics, snapshotter, onDurable: observe?.onDurable, enabled }).start();
  reader = running;

  return {
    reader: running,
    fusebox,
    async stop() {
      await running.stop();
      await fusebox.stop();
      await Promise.allSettled([publisher.close(), admin.disconnect(), source.close(), slotPool.end(), fuseboxPool.end()]);
    },
  };
}

/**
 * The reader's lag: from what it holds unpublished while it streams; otherwise (paused, failed,
 * waiting as a standby… ) from the slot itself, whose oldest change it reads without consuming —
 * unless another process streams the slot, which then reports it.
 */
export async function sourceLagSeconds(pool: pg.Pool, config: Pick<CdcConfig, 'CDC_SLOT' | 'CDC_PUBLICATION'>, reader: CdcReader | undefined): Promise<number | undefined> {
  const now = Date.now();
  if (reader?.streaming) {
    const oldest = reader.oldestUnpublishedCommitMs;
    return oldest === undefined ? 0 : Math.max(0, now - oldest) / 1000;
  }
  const active = await pool.query<{ active: boolean }>('SELECT active FROM pg_replication_slots WHERE slot_name = $1', [config.CDC_SLOT]);
  if (active.rows[0]?.active !== false) return undefined;
  const oldest = await oldestUnpublishedCommitMs(pool, config.CDC_SLOT, config.CDC_PUBLICATION);
  return oldest === undefined ? 0 : Math.max(0, now - oldest) / 1000;
}
