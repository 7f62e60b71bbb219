import { lookup } from 'node:dns/promises';
import { isIP } from 'node:net';
import { SyncError } from '../infra/runtime/errors';
import type { ExternalConnection } from '../schema/external-connection';
import { judgeAddress, parseAllowedTargets, type TargetAddressPolicy } from './target-address-policy';

/** A tenant's connection string points where the sink may not go. Tenants see this coarse reason only. */
export class TargetNotAllowedError extends SyncError {
  constructor(readonly detail: { host: string; address: string; port: number; reason: string }) {
    super('SINK_TARGET_NOT_ALLOWED', 'the database host is not an address the sink may connect to (only public addresses are allowed)', {});
  }
}

/** Any failure to reach or log in to a tenant's database: which one (refused, timeout, password) is for operators' logs only. */
export class TargetUnreachableError extends SyncError {
  constructor(readonly detail: string, options?: ErrorOptions) {
    super('SINK_TARGET_UNREACHABLE', 'could not connect to the external database', {}, options);
  }
}

export type HostLookup = (host: string) => Promise<string[]>;

export const systemLookup: HostLookup = async (host) => (await lookup(host, { all: true, verbatim: true })).map((entry) => entry.address);

/**
 * Resolves the host right before connecting and judges every address it has (a name that also
 * resolves to an internal address is refused as a whole: DNS answers may rotate between the
 * check and the connect). Returns the address to connect to, so the connection cannot be sent
 * elsewhere by a second lookup.
 */
export async function resolveTarget(connection: ExternalConnection, policy: TargetAddressPolicy, timeoutMs: number, lookupHost: HostLookup = systemLookup): Promise<string> {
  let addresses: string[];
  if (isIP(connection.host) !== 0) addresses = [connection.host];
  else {
    let timer: NodeJS.Timeout | undefined;
    try {
      addresses = await Promise.race([
        lookupHost(connection.host),
        new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`DNS lookup of ${connection.host} timed out`)), timeoutMs))),
      ]);
    } catch (error: unknown) {
      throw new TargetUnreachableError(`could not resolve ${connection.host}: ${error instanceof Error ? error.message : String(error)}`, { cause: error });
    } finally {
      clearTimeout(timer);
    }
  }
  if (addresses.length === 0) throw new TargetUnreachableError(`${connection.host} has no address`);
  for (const address of addresses) {
    const verdict = judgeAddress(address, connection.port, policy);
    if (!verdict.allowed) throw new TargetNotAllowedError({ host: connection.host, address, port: connection.port, reason: `${verdict.reason} (${verdict.range})` });
  }
  return addresses[0]!;
}

/**
 * The policy of this deployment: SINK_ALLOWED_TARGETS, and the internal database's addresses
 * (resolved once, at start) as the one place never allowed.
 */
export async function loadTargetAddressPolicy(config: { DATABASE_URL: string; SINK_ALLOWED_TARGETS: string }, lookupHost: HostLookup = systemLookup): Promise<TargetAddressPolicy> {
  const internal = new URL(config.DATABASE_URL);
  const host = internal.hostname.replace(/^\[(.*)\]$/, '$1');
  const port = internal.port === '' ? 5432 : Number(internal.port);
  const addresses = isIP(host) !== 0 ? [host] : await lookupHost(host).catch(() => []);
  // Unresolvable now: every loopback address on its port stands for it (the usual local set-up).
  const internalAddresses = addresses.length > 0 ? addresses : ['127.0.0.1'];
  return { allowed: parseAllowedTargets(config.SINK_ALLOWED_TARGETS), internal: internalAddresses.map((address) => ({ address, port })) };
}
