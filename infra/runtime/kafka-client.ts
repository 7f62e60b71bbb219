import { Kafka, logLevel } from 'kafkajs';
import { kafkaClientLogLevel, kafkaLogCreator } from './kafka-log';

/** One kafkajs client per process part; WARN and above only, so logs stay readable. */
export function kafkaClient(brokers: string[], clientId: string): Kafka {
  return new Kafka({
    clientId,
    brokers,
    // STACK_SYNC_KAFKAJS_DEBUG=1: every request and retry, to diagnose a stall (very verbose).
    logLevel: process.env.STACK_SYNC_KAFKAJS_DEBUG === '1' ? logLevel.DEBUG : kafkaClientLogLevel,
    logCreator: kafkaLogCreator,
    retry: { initialRetryTime: 100, retries: 8 },
  });
}
