import { Kafka } from 'kafkajs';
import { kafkaClientLogLevel, kafkaLogCreator } from './kafka-log';

/** One kafkajs client per process part; WARN and above only, so logs stay readable. */
export function kafkaClient(brokers: string[], clientId: string): Kafka {
  return new Kafka({
    clientId,
    brokers,
    logLevel: kafkaClientLogLevel,
    logCreator: kafkaLogCreator,
    retry: { initialRetryTime: 100, retries: 8 },
  });
}
