import { z } from 'zod';

/**
 * Where the sink connects for one external database, as parsed from the connection string a
 * tenant's admin saved. The sink builds its client from this, never from the raw string: the
 * string parsers of `pg` honour parameters that reach beyond the tenant's database (`host=` to a
 * Unix socket, `sslkey=` naming a file the sink would read, `service=`, …).
 */
export interface ExternalConnection {
  /** A DNS name or an IP address literal (IPv6 without brackets); never a socket path. */
  host: string;
  port: number;
  database: string;
  user: string;
  password?: string;
  /** Absent: plain text, as `pg` does without one (see sinks/external-connections.ts for the rest). */
  sslmode?: SslMode;
  /** SCRAM channel binding (`channel_binding=require|prefer`); off unless asked for. */
  channelBinding?: boolean;
  applicationName?: string;
  /** From `options=-c search_path=…`, the only server setting a connection string may carry. */
  searchPath?: string;
}

export const sslModes = ['disable', 'prefer', 'require', 'verify-ca', 'verify-full', 'no-verify'] as const;
export type SslMode = (typeof sslModes)[number];

/** Query parameters a connection string may have; anything else is refused by name. */
const allowedParameters = new Set(['sslmode', 'channel_binding', 'application_name', 'options', 'password', 'connect_timeout']);

export type ConnectionStringResult = { ok: true; connection: ExternalConnection } | { ok: false; problem: string };

const dnsName = /^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*\.?$/;
const ipv4Literal = /^\d{1,3}(\.\d{1,3}){3}$/;
const ipv6Literal = /^\[[0-9a-f:.]+\]$/;
const identifierList = /^[A-Za-z_][A-Za-z0-9_$]{0,62}(,[A-Za-z_][A-Za-z0-9_$]{0,62}){0,7}$/;
const printable = /^[\x20-\x7e]{1,64}$/;

function refuse(problem: string): ConnectionStringResult {
  return { ok: false, problem };
}

function decode(text: string): string | undefined {
  try {
    return decodeURIComponent(text);
  } catch {
    return undefined;
  }
}

/**
 * Parses `postgres[ql]://user[:password]@host[:port]/database[?params]` with an allow-list of
 * parameters. Pure: it resolves nothing (the sink checks the addresses right before connecting).
 */
export function parseConnectionString(raw: string): ConnectionStringResult {
  const scheme = /^postgres(ql)?:\/\//i.exec(raw);
  if (!scheme) return refuse('must be a postgres:// or postgresql:// URL');
  // Split by hand: a WHATWG URL with a non-special scheme keeps odd hosts opaque (commas, %2F…).
  const rest = raw.slice(scheme[0].length);
  const queryAt = rest.indexOf('?');
  const beforeQuery = queryAt === -1 ? rest : rest.slice(0, queryAt);
  const query = queryAt === -1 ? '' : rest.slice(queryAt + 1);
  if (beforeQuery.includes('#') || query.includes('#')) return refuse('must not contain a fragment (#)');
  const slashAt = beforeQuery.indexOf('/');
  const authority = slashAt === -1 ? beforeQuery : beforeQuery.slice(0, slashAt);
  const path = slashAt === -1 ? '' : beforeQuery.slice(slashAt + 1);
  const atAt = authority.lastIndexOf('@');
  if (atAt === -1) return refuse('must name a user (user@host)');
  const userInfo = authority.slice(0, atAt);
  const hostPort = authority.slice(atAt + 1);

  const colonAt = userInfo.indexOf(':');
  const user = decode(colonAt === -1 ? userInfo : userInfo.slice(0, colonAt));
  const passwordInUrl = colonAt === -1 ? undefined : decode(userInfo.slice(colonAt + 1));
  if (!user) return refuse('must name a user (user@host)');
  if (colonAt !== -1 && passwordInUrl === undefined) return refuse('the password is not valid percent-encoding');

  const hostMatch = /^(\[[^\]]*\]|[^:]*)(?::(\d{1,5}))?$/.exec(hostPort);
  if (!hostMatch) return refuse('the host must be a DNS name or an IP address, with an optional :port (one host only)');
  const hostText = hostMatch[1]!.toLowerCase();
  if (!(dnsName.test(hostText) || ipv4Literal.test(hostText) || ipv6Literal.test(hostText))) {
    return refuse('the host must be a DNS name or an IP address, with an optional :port (one host only; no socket paths)');
  }
  const host = ipv6Literal.test(hostText) ? hostText.slice(1, -1) : hostText.replace(/\.$/, '');
  const port = hostMatch[2] === undefined ? 5432 : Number(hostMatch[2]);
  if (!Number.isInteger(port) || port < 1 || port > 65_535) return refuse('the port must be between 1 and 65535');

  const database = decode(path);
  if (database === undefined || database.length === 0) return refuse('must name a database (…/database)');
  if (database.length > 63 || database.includes('/')) return refuse('the database name must be at most 63 characters, without /');

  // NUL and other control characters would end or split fields of the startup packet.
  if (/[\x00-\x1f\x7f]/.test(user) || /[\x00-\x1f\x7f]/.test(database)) return refuse('the user and database names must not contain control characters');
  const connection: ExternalConnection = { host, port, database, user };
  if (passwordInUrl !== undefined && passwordInUrl.length > 0) connection.password = passwordInUrl;
  const seen = new Set<string>();
  for (const pair of query.length === 0 ? [] : query.split('&')) {
    const equalsAt = pair.indexOf('=');
    const name = decode(equalsAt === -1 ? pair : pair.slice(0, equalsAt));
    const value = decode((equalsAt === -1 ? '' : pair.slice(equalsAt + 1)).replaceAll('+', ' '));
    if (name === undefined || value === undefined) return refuse('a parameter is not valid percent-encoding');
    if (!allowedParameters.has(name)) return refuse(`parameter "${name.slice(0, 40)}" is not allowed (allowed: ${[...allowedParameters].join(', ')})`);
    if (seen.has(name)) return refuse(`parameter "${name}" is given twice`);
    seen.add(name);
    switch (name) {
      case 'sslmode': {
        const mode = z.enum(sslModes).safeParse(value);
        if (!mode.success) return refuse(`sslmode must be one of ${sslModes.join(', ')}`);
        connection.sslmode = mode.data;
        break;
      }
      case 'channel_binding':
        if (!['disable', 'prefer', 'require'].includes(value)) return refuse('channel_binding must be disable, prefer or require');
        connection.channelBinding = value !== 'disable';
        break;
      case 'application_name':
        if (!printable.test(value)) return refuse('application_name must be 1–64 printable ASCII characters');
        connection.applicationName = value;
        break;
      case 'options': {
        const searchPath = /^-c\s*search_path=(.+)$/.exec(value.trim());
        if (!searchPath || !identifierList.test(searchPath[1]!)) return refuse('options may only set search_path (e.g. options=-c search_path=app), to plain schema names');
        connection.searchPath = searchPath[1]!;
        break;
      }
      case 'password':
        if (connection.password !== undefined) return refuse('the password is given twice');
        if (value.length > 0) connection.password = value;
        break;
      case 'connect_timeout':
        // Accepted for compatibility; the sink applies its own, shorter, timeout.
        if (!/^\d{1,4}$/.test(value)) return refuse('connect_timeout must be a number of seconds');
        break;
    }
  }
  return { ok: true, connection };
}

/** The connection as a tenant may see it: where the sink really connects, password masked. */
export function redactedConnectionString(connection: ExternalConnection): string {
  const host = connection.host.includes(':') ? `[${connection.host}]` : connection.host;
  const password = connection.password === undefined ? '' : ':********';
  const params = new URLSearchParams();
  if (connection.sslmode !== undefined) params.set('sslmode', connection.sslmode);
  if (connection.applicationName !== undefined) params.set('application_name', connection.applicationName);
  if (connection.searchPath !== undefined) params.set('options', `-c search_path=${connection.searchPath}`);
  const query = params.toString();
  return `postgres://${encodeURIComponent(connection.user)}${password}@${host}:${connection.port}/${encodeURIComponent(connection.database)}${query ? `?${query}` : ''}`;
}
