import { logLevel, type LogEntry, type logCreator } from 'kafkajs';

/**
 * Errors kafkajs logs on every retry of a normal event: right after a Kafka transaction commits,
 * the coordinator refuses the next one for a few ms while it writes the commit markers
 * (CONCURRENT_TRANSACTIONS), and the producer retries. Logged, they would bury real errors.
 */
const droppedRetries = ['another concurrent operation on the same transaction'];

/**
 * Retriable broker answers that a starting broker, a new topic or a leader change give for a
 * moment (Kafka protocol error codes COORDINATOR_LOAD_IN_PROGRESS, COORDINATOR_NOT_AVAILABLE,
 * NOT_COORDINATOR, UNKNOWN_TOPIC_OR_PARTITION, LEADER_NOT_AVAILABLE, NOT_LEADER_OR_FOLLOWER,
 * REBALANCE_IN_PROGRESS). kafkajs retries them and logs each try at ERROR; a clean start would
 * print a dozen. They are kept at info: if the retries run out, the caller's own error says so.
 * kafkajs hands its log lines over as text only, so the broker's messages are what is matched.
 */
const warmUpRetries = [
  'coordinator is loading',
  'coordinator is not available',
  'not the correct coordinator',
  'does not host this topic-partition',
  'no leader for this topic-partition',
  'not the leader for that topic-partition',
  'group is rebalancing',
];

/**
 * A CreateTopics answer with per-topic errors: mostly TOPIC_ALREADY_EXISTS when the reader and a
 * sink create a new tenant's topic at once, which kafkajs's admin then treats as success. Any
 * other creation error makes `createTopics` throw, and our caller logs that; the raw answer is
 * kept at info.
 */
function isTopicCreationAnswer(message: string, text: string): boolean {
  return message.startsWith('Response CreateTopics') && text.includes('Topic creation errors');
}

const levels: Record<string, 'error' | 'warn' | 'info'> = { ERROR: 'error', NOTHING: 'error', WARN: 'warn', INFO: 'info', DEBUG: 'info' };

/** The level a kafkajs log entry is written at (undefined: not written). */
export function kafkaLogLevel(entry: Pick<LogEntry, 'label'> & { log: { message: string; error?: unknown } }): 'error' | 'warn' | 'info' | undefined {
  const text = `${entry.log.message} ${String(entry.log.error ?? '')}`;
  if (droppedRetries.some((fragment) => text.includes(fragment))) return undefined;
  const level = levels[entry.label] ?? 'warn';
  if (level === 'error' && (warmUpRetries.some((fragment) => text.includes(fragment)) || isTopicCreationAnswer(entry.log.message, text))) return 'info';
  return level;
}

/**
 * kafkajs's log lines in the shape of every other line (infra/runtime/log.ts): `time`, `level`,
 * `part: "kafkajs"`, `message`, then kafkajs's own fields (broker, clientId, error, …).
 */
export const kafkaLogCreator: logCreator = () => (entry) => {
  const level = kafkaLogLevel(entry);
  if (level === undefined || (level === 'info' && process.env.STACK_SYNC_QUIET === '1')) return;
  const { message, timestamp, logger: _logger, ...fields } = entry.log as LogEntry['log'] & { logger?: unknown };
  const line = JSON.stringify({ time: timestamp, level, part: 'kafkajs', message, ...fields });
  (level === 'info' ? process.stdout : process.stderr).write(`${line}\n`);
};

/** kafkajs's own threshold: WARN and above reach the creator above. */
export const kafkaClientLogLevel = logLevel.WARN;
