import type pg from 'pg';

/**
 * Keeps a Postgres outage from crashing the process. A pooled connection that the server ends
 * emits 'error': pg-pool listens only while the connection is idle, so one checked out — inside a
 * transaction between two statements, when the server crashes — emits it with no listener, an
 * uncaught exception (seen when the internal database was stopped with `-m immediate`). The
 * failure reaches the caller anyway, through its next query.
 */
export function survivePoolErrors(pool: pg.Pool): pg.Pool {
  pool.on('error', () => undefined);
  pool.on('connect', (client) => {
    client.on('error', () => undefined);
  });
  return pool;
}
