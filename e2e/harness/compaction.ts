import { ConfigResourceTypes } from 'kafkajs';
import { kafkaClient } from '../../infra/runtime/kafka-client';
import type { PipelineContext } from './pipeline-context';

/** Lets the broker compact a topic within seconds instead of days. */
export async function compactSoon(ctx: PipelineContext, topic: string, deleteRetentionMs: number): Promise<void> {
  const admin = kafkaClient(ctx.config.KAFKA_BROKERS, `${ctx.name}-compaction`).admin();
  await admin.connect();
  try {
    await admin.alterConfigs({
      validateOnly: false,
      resources: [{ type: ConfigResourceTypes.BROKER, name: '1', configEntries: [{ name: 'log.cleaner.backoff.ms', value: '500' }] }],
    });
    await admin.alterConfigs({
      validateOnly: false,
      resources: [
        {
          type: ConfigResourceTypes.TOPIC,
          name: topic,
          configEntries: [
            { name: 'cleanup.policy', value: 'compact' },
            { name: 'delete.retention.ms', value: String(deleteRetentionMs) },
            { name: 'segment.ms', value: '100' },
            { name: 'min.cleanable.dirty.ratio', value: '0.01' },
            { name: 'min.compaction.lag.ms', value: '0' },
          ],
        },
      ],
    });
  } finally {
    await admin.disconnect();
  }
}

