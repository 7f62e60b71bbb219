import { Kafka, logLevel } from 'kafkajs';

/** One kafkajs client per process part; WARN and above only, so logs stay readable. */
export function kafkaClient(brokers: string[], clientId: string): Kafka {
  return new Kafka({
    clientId,
    brokers,
    logLevel: logLevel.WARN,
    retry: { initialRetryTime: 100, retries: 8 },
  });
}
