import pg from 'pg';
import type { Registry } from 'prom-client';
import type { EnvConfig } from '../schema/env-config';
import { SecretBox } from '../schema/secret-box';
import { TenantTopics } from '../cdc/tenant-topics';
import { kafkaClient } from '../infra/runtime/kafka-client';
import { externalConnectionBudget } from './external-connections';
import { loadTargetAddressPolicy } from './target-resolver';
import { TopicHistory } from './topic-history';
import { defaultMappings } from './mappings';
import { SinkMetrics } from './metrics';
import { SinkSupervisor } from './sink-supervisor';
import { FuseboxPoller } from '../infra/runtime/fusebox-poller';
import { survivePoolErrors } from '../infra/runtime/pg-pool-errors';

export type SinkConfig = Pick<
  EnvConfig,
  | 'DATABASE_URL'
  | 'KAFKA_BROKERS'
  | 'CDC_TOPIC_PREFIX'
  | 'KAFKA_TOPIC_REPLICATION_FACTOR'
  | 'KAFKA_TOPIC_DELETE_RETENTION_MS'
  | 'SINK_GROUP_PREFIX'
  | 'SINK_CONFIG_POLL_MS'
  | 'SINK_SESSION_TIMEOUT_MS'
  | 'SINK_MAX_CONNECTIONS'
  | 'SINK_IDLE_CONNECTION_MS'
  | 'STACK_SECRET_KEY'
  | 'SINK_ALLOWED_TARGETS'
  | 'SINK_CONNECT_TIMEOUT_MS'
  | 'CDC_SLOT'
>;

export interface RunningSink {
  supervisor: SinkSupervisor;
  stop(): Promise<void>;
}

/** Wires the sink part: project configs → external databases fed by one shared consumer. */
export async function startSink(config: SinkConfig, registry: Registry): Promise<RunningSink> {
  const kafka = kafkaClient(config.KAFKA_BROKERS, `stack-sync-sink-${config.SINK_GROUP_PREFIX}`);
  const admin = kafka.admin();
  try {
    await admin.connect();
  } catch (error: unknown) {
    // A broker that is down at start: the caller retries, and nothing of this attempt may linger.
    await admin.disconnect().catch(() => undefined);
    throw error;
  }
  // Connections ended by the server must not crash the process; the next poll reports it.
  const internal = survivePoolErrors(new pg.Pool({ connectionString: config.DATABASE_URL, max: 2 }));
  const connections = externalConnectionBudget({
    maxOpen: config.SINK_MAX_CONNECTIONS,
    idleMs: config.SINK_IDLE_CONNECTION_MS,
    connectTimeoutMs: config.SINK_CONNECT_TIMEOUT_MS,
    policy: await loadTargetAddressPolicy(config),
  });
  const fusebox = new FuseboxPoller(internal).start();
  const supervisor = new SinkSupervisor({
    internal,
    secrets: new SecretBox(config.STACK_SECRET_KEY),
    kafka,
    topics: new TenantTopics(admin, config.KAFKA_TOPIC_REPLICATION_FACTOR, config.KAFKA_TOPIC_DELETE_RETENTION_MS),
    topicPrefix: config.CDC_TOPIC_PREFIX,
    groupId: `${config.SINK_GROUP_PREFIX}.tenants`,
    mappings: defaultMappings,
    metrics: new SinkMetrics(registry),
    connections,
    pollMs: config.SINK_CONFIG_POLL_MS,
    sessionTimeoutMs: config.SINK_SESSION_TIMEOUT_MS,
    history: new TopicHistory(admin, config.KAFKA_TOPIC_DELETE_RETENTION_MS),
    slot: config.CDC_SLOT,
    fusebox,
  }).start();
  return {
    supervisor,
    async stop() {
      await supervisor.stop();
      await fusebox.stop();
      await Promise.allSettled([admin.disconnect(), internal.end(), connections.close()]);
    },
  };
}
