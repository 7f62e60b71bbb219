import { sqlState } from './errors';

/**
 * One JSON line per event: easy to grep locally and to ship to a log pipeline in production.
 *
 * Logs must never carry what users send (emails, passwords, metadata) or SQL parameters: log lines
 * are read by more people, and kept longer, than the database. Field values are the caller's
 * responsibility (ids, counts, codes); an Error passed as a field value is reduced to
 * `describeError`'s safe summary here, whoever logs it.
 */
type Fields = Record<string, unknown>;

/**
 * What can be logged of an error without its message: the message of a failed query holds the SQL
 * and every parameter (drizzle: "Failed query: … params: …"), a Postgres message can quote an input
 * value, and JSON.parse quotes the text it choked on. Class name, SQLSTATE and the names of the
 * constraint, table and column are enough to find the cause; the stack says where.
 */
export interface ErrorSummary {
  name: string;
  sqlState?: string;
  constraint?: string;
  table?: string;
  column?: string;
  /** Stack frames only (`at …` lines), the message cut off. */
  stack?: string;
}

function stringField(value: unknown, field: string): string | undefined {
  if (typeof value !== 'object' || value === null || !(field in value)) return undefined;
  const found = (value as Record<string, unknown>)[field];
  return typeof found === 'string' ? found : undefined;
}

/** The frames of an error's stack: everything after its message, which V8 prints first. */
function framesOf(error: Error): string | undefined {
  const stack = error.stack;
  if (!stack) return undefined;
  const messageAt = error.message.length > 0 ? stack.indexOf(error.message) : -1;
  const afterMessage = messageAt >= 0 ? stack.slice(messageAt + error.message.length) : stack.slice(stack.indexOf('\n') + 1);
  const frames = afterMessage
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line.startsWith('at '));
  return frames.length > 0 ? frames.slice(0, 12).join('\n') : undefined;
}

export function describeError(error: unknown): ErrorSummary {
  const summary: ErrorSummary = { name: error instanceof Error ? error.name : typeof error };
  // drizzle wraps the driver's error in `cause`: the SQLSTATE and names are on the innermost.
  for (let current: unknown = error, depth = 0; current !== undefined && current !== null && depth < 5; depth++) {
    const code = sqlState(current);
    if (code) {
      summary.sqlState = code;
      for (const field of ['constraint', 'table', 'column'] as const) {
        const value = stringField(current, field);
        if (value) summary[field] = value;
      }
      break;
    }
    current = (current as { cause?: unknown }).cause;
  }
  const frames = error instanceof Error ? framesOf(error) : undefined;
  if (frames) summary.stack = frames;
  return summary;
}

function safeFields(fields: Fields): Fields {
  const safe: Fields = {};
  for (const [key, value] of Object.entries(fields)) safe[key] = value instanceof Error ? describeError(value) : value;
  return safe;
}

function write(level: 'info' | 'warn' | 'error', part: string, message: string, fields: Fields): void {
  if (level === 'info' && process.env.STACK_SYNC_QUIET === '1') return;
  const line = JSON.stringify({ time: new Date().toISOString(), level, part, message, ...safeFields(fields) });
  (level === 'info' ? process.stdout : process.stderr).write(`${line}\n`);
}

export interface Logger {
  info(message: string, fields?: Fields): void;
  warn(message: string, fields?: Fields): void;
  error(message: string, fields?: Fields): void;
}

export function logger(part: string): Logger {
  return {
    info: (message, fields = {}) => write('info', part, message, fields),
    warn: (message, fields = {}) => write('warn', part, message, fields),
    error: (message, fields = {}) => write('error', part, message, fields),
  };
}
