import pg from 'pg';
import { logger } from '../infra/runtime/log';
import type { ExternalConnection } from '../schema/external-connection';
import { ConnectionBudget } from './connection-budget';
import type { TargetAddressPolicy } from './target-address-policy';
import { resolveTarget, TargetNotAllowedError, TargetUnreachableError, type HostLookup } from './target-resolver';

const log = logger('sink');

export interface ExternalConnectionLimits {
  /** Open connections to external databases allowed at once in this process. */
  maxOpen: number;
  /** Of those, connection attempts in progress at once (so dead hosts cannot take every slot). */
  maxOpening?: number;
  /** Idle connections close after this long. */
  idleMs: number;
  /** A DNS lookup or connection attempt (TCP, TLS and login) gives up after this long, in ms. */
  connectTimeoutMs?: number;
  /** Where tenants' databases may be. */
  policy: TargetAddressPolicy;
  /** Resolves host names (tests bring their own). */
  lookup?: HostLookup;
}

/**
 * `ssl` options for pg from the sslmode, as pg itself reads connection strings (so saved strings
 * keep their meaning): none given or `disable` is plain text; `prefer`, `require`, `verify-ca` and
 * `verify-full` all verify the certificate and the host name (pg cannot fall back to plain text
 * as libpq's `prefer` does, and treats `require` as `verify-full`); `no-verify` encrypts without
 * checking. The host name is kept for SNI and the check, since the client connects to an address.
 */
function sslOptions(connection: ExternalConnection): pg.ClientConfig['ssl'] {
  switch (connection.sslmode) {
    case undefined:
    case 'disable':
      return false;
    case 'no-verify':
      return { rejectUnauthorized: false, servername: connection.host };
    case 'prefer':
    case 'require':
    case 'verify-ca':
    case 'verify-full':
      return { rejectUnauthorized: true, servername: connection.host };
  }
}

/** An external statement running this long is abandoned (the connection is then closed), in ms. */
const queryTimeoutMs = 120_000;
/** A polite close that takes longer than this is cut short (the tenant's server controls it), in ms. */
const closeTimeoutMs = 2_000;

/** Ends a client, destroying its socket if the server does not let it end in time. */
async function closeWithin(client: pg.Client, timeoutMs: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const ended = await Promise.race([
    client.end().then(
      () => true,
      () => true,
    ),
    new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(false), timeoutMs))),
  ]);
  clearTimeout(timer);
  if (!ended) client.connection.stream.destroy();
}

/**
 * The sink process's one budget of connections to external Postgres databases. A client is built
 * from the parsed connection (never from a raw string) and connects to the address that was
 * judged allowed right before.
 */
export function externalConnectionBudget(limits: ExternalConnectionLimits): ConnectionBudget<pg.Client, ExternalConnection> {
  const connectTimeoutMs = limits.connectTimeoutMs ?? 5_000;
  // A client whose socket failed or ended emits once; it is then never handed out again.
  const dead = new WeakSet<pg.Client>();
  return new ConnectionBudget<pg.Client, ExternalConnection>({
    maxOpen: limits.maxOpen,
    maxOpening: limits.maxOpening ?? Math.max(1, Math.floor(limits.maxOpen / 4)),
    idleMs: limits.idleMs,
    async open(connection) {
      let address: string;
      try {
        address = await resolveTarget(connection, limits.policy, connectTimeoutMs, limits.lookup);
      } catch (error: unknown) {
        // The detail (which address, why) is for operators; tenants see the error's code only.
        if (error instanceof TargetNotAllowedError) log.warn('refused to connect to an external database', { code: error.code, ...error.detail });
        if (error instanceof TargetUnreachableError) log.warn('could not reach an external database', { code: error.code, host: connection.host, detail: error.detail });
        throw error;
      }
      const client = new pg.Client({
        host: address,
        port: connection.port,
        database: connection.database,
        user: connection.user,
        // Always given: without it pg would fall back to PGPASSWORD or ~/.pgpass — the sink's own
        // credentials — and hand them to whatever server the tenant named.
        password: connection.password ?? '',
        ssl: sslOptions(connection),
        ...(connection.channelBinding ? { enableChannelBinding: true } : {}),
        ...(connection.searchPath !== undefined ? { options: `-c search_path=${connection.searchPath}` } : {}),
        application_name: connection.applicationName ?? process.env.PGAPPNAME ?? 'stack-sync-sink',
        connectionTimeoutMillis: connectTimeoutMs,
        // A server that logs us in and then never answers must not hold a connection (and the
        // lane's database) forever: a statement that long is a failure, retried with backoff.
        query_timeout: queryTimeoutMs,
        keepAlive: true,
      });
      // Without a listener an idle connection dropped by the server would crash the process.
      client.on('error', () => dead.add(client));
      client.on('end', () => dead.add(client));
      try {
        await client.connect();
      } catch (error: unknown) {
        // Not awaited: a server that keeps the socket open after refusing us would hold this here.
        void closeWithin(client, closeTimeoutMs);
        const detail = `${connection.host} (${address}):${connection.port}: ${error instanceof Error ? error.message : String(error)}`;
        log.warn('could not connect to an external database', { code: 'SINK_TARGET_UNREACHABLE', detail });
        throw new TargetUnreachableError(detail, { cause: error });
      }
      return client;
    },
    close: (client) => closeWithin(client, closeTimeoutMs),
    usable: (client) => !dead.has(client),
  });
}
