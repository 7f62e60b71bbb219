/** One JSON line per event: easy to grep locally and to ship to a log pipeline in production. */
type Fields = Record<string, unknown>;

function write(level: 'info' | 'warn' | 'error', part: string, message: string, fields: Fields): void {
  if (level === 'info' && process.env.STACK_SYNC_QUIET === '1') return;
  const line = JSON.stringify({ time: new Date().toISOString(), level, part, message, ...fields });
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
