import pg from 'pg';
import { ConnectionBudget } from './connection-budget';

export interface ExternalConnectionLimits {
  /** Open connections to external databases allowed at once in this process. */
  maxOpen: number;
  /** Idle connections close after this long. */
  idleMs: number;
}

/** The sink process's one budget of connections to external Postgres databases. */
export function externalConnectionBudget(limits: ExternalConnectionLimits): ConnectionBudget<pg.Client> {
  // A client whose socket failed or ended emits once; it is then never handed out again.
  const dead = new WeakSet<pg.Client>();
  return new ConnectionBudget<pg.Client>({
    ...limits,
    async open(connectionString) {
      const client = new pg.Client({ connectionString, connectionTimeoutMillis: 10_000, keepAlive: true, application_name: process.env.PGAPPNAME ?? 'stack-sync-sink' });
      // Without a listener an idle connection dropped by the server would crash the process.
      client.on('error', () => dead.add(client));
      client.on('end', () => dead.add(client));
      try {
        await client.connect();
      } catch (error: unknown) {
        await client.end().catch(() => undefined);
        throw error;
      }
      return client;
    },
    close: (client) => client.end(),
    usable: (client) => !dead.has(client),
  });
}
