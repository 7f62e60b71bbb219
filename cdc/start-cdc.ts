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

export type CdcConfig = Pick<
  EnvConfig,
  'DATABASE_URL' | 'KAFKA_BROKERS' | 'CDC_SLOT' | 'CDC_PUBLICATION' | 'CDC_TOPIC_PREFIX' | 'CDC_EVENT_FORMAT' | 'KAFKA_TOPIC_REPLICATION_FACTOR' | 'KAFKA_TOPIC_DELETE_RETENTION_MS' | 'CDC_HEARTBEAT_INTERVAL_MS' | 'CDC_SNAPSHOT_CHUNK_ROWS'
>;

export interface RunningCdc {
  reader: CdcReader;
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
  slotPool.on('error', () => undefined);
  const metrics = new CdcMetrics(registry, config.CDC_SLOT, () => readSlotHealth(slotPool, config.CDC_SLOT));
  try {
    await source.prepare();
  } catch (error: unknown) {
    // Nothing may outlive a failed start: close what was opened above.
    await Promise.allSettled([admin.disconnect(), source.close()]);
    throw error;
  }
  const topics = new TenantTopics(admin, config.KAFKA_TOPIC_REPLICATION_FACTOR, config.KAFKA_TOPIC_DELETE_RETENTION_MS);
  const publisher = new KafkaPublisher(kafka, admin, topics, positionRecord(config.CDC_TOPIC_PREFIX, config.CDC_SLOT), config.CDC_EVENT_FORMAT);
  const snapshotter = new Snapshotter(source.catalog, config.CDC_SLOT, config.CDC_SNAPSHOT_CHUNK_ROWS, observe?.afterSnapshotRead);
  const reader = new CdcReader({ source, publisher, topicPrefix: config.CDC_TOPIC_PREFIX, eventFormat: config.CDC_EVENT_FORMAT, metrics, snapshotter, onDurable: observe?.onDurable }).start();

  return {
    reader,
    async stop() {
      await reader.stop();
      await Promise.allSettled([publisher.close(), admin.disconnect(), source.close(), slotPool.end()]);
    },
  };
}
