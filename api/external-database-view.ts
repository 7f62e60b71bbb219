import { parseConnectionString, redactedConnectionString } from '../schema/external-connection';
import type { StoredProjectConfig } from '../schema/project-config';
import type { SecretBox } from '../schema/secret-box';

type StoredExternalDatabase = StoredProjectConfig['dbSync']['externalDatabases'][string];

/** Where the sink really connects for a stored external database, password masked. */
export interface ConnectionView {
  connection_string: string;
  host: string;
  port: number;
  database: string;
  user: string;
}

/**
 * A stored external database as tenants may see it: the connection rebuilt from its parsed form
 * (never the raw string, which may hold a password anywhere), or why it cannot be used.
 */
export function connectionView(database: StoredExternalDatabase, secrets: SecretBox): { connection: ConnectionView } | { problem: { code: string; message: string } } {
  let raw: string;
  try {
    raw = secrets.open(database.encryptedConnectionString);
  } catch {
    return { problem: { code: 'SINK_UNREADABLE_CONNECTION_STRING', message: 'the stored connection string cannot be decrypted' } };
  }
  const parsed = parseConnectionString(raw);
  if (!parsed.ok) return { problem: { code: 'SINK_CONNECTION_STRING_REFUSED', message: `the stored connection string is refused: ${parsed.problem}` } };
  const { connection } = parsed;
  return {
    connection: {
      connection_string: redactedConnectionString(connection),
      host: connection.host,
      port: connection.port,
      database: connection.database,
      user: connection.user,
    },
  };
}
