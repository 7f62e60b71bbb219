import { Kafka, logLevel, type LogEntry, type logCreator } from 'kafkajs';

/**
 * Errors kafkajs logs on every retry of a normal event: right after a Kafka transaction commits,
 * the coordinator refuses the next one for a few ms while it writes the commit markers
 * (CONCURRENT_TRANSACTIONS), and the producer retries. Logged, they would bury real errors.
 */
const expectedRetries = ['another concurrent operation on the same transaction'];

function isExpectedRetry(entry: LogEntry): boolean {
  const text = `${entry.log.message} ${String(entry.log.error ?? '')}`;
  return expectedRetries.some((fragment) => text.includes(fragment));
}

/** kafkajs's JSON log lines on stderr, minus the expected retries. */
const quietLogCreator: logCreator = () => (entry) => {
  if (isExpectedRetry(entry)) return;
  const { message, ...fields } = entry.log;
  process.stderr.write(`${JSON.stringify({ level: entry.label, logger: 'kafkajs', message, ...fields })}\n`);
};

/** One kafkajs client per process part; WARN and above only, so logs stay readable. */
export function kafkaClient(brokers: string[], clientId: string): Kafka {
  return new Kafka({
    clientId,
    brokers,
    logLevel: logLevel.WARN,
    logCreator: quietLogCreator,
    retry: { initialRetryTime: 100, retries: 8 },
  });
}
