import ipaddr from 'ipaddr.js';

/** One SINK_ALLOWED_TARGETS entry: an address or CIDR range, optionally one port. */
export interface AllowedTarget {
  range: [ipaddr.IPv4 | ipaddr.IPv6, number];
  port?: number;
}

/** An address:port the sink must never connect to, whatever is allowed: the internal database. */
export interface ForbiddenTarget {
  address: string;
  port: number;
}

export interface TargetAddressPolicy {
  allowed: readonly AllowedTarget[];
  internal: readonly ForbiddenTarget[];
}

export type AddressVerdict = { allowed: true } | { allowed: false; reason: 'internal_database' | 'not_public'; range: string };

/**
 * Parses SINK_ALLOWED_TARGETS: comma-separated `address`, `address/prefix`, `address:port`,
 * `[v6address]:port` or `address/prefix:port` entries. Throws naming the first bad entry.
 */
export function parseAllowedTargets(text: string): AllowedTarget[] {
  return text
    .split(',')
    .map((part) => part.trim())
    .filter((part) => part.length > 0)
    .map((entry) => {
      const bad = () => new Error(`SINK_ALLOWED_TARGETS: "${entry}" is not an address, a CIDR range or either with :port`);
      let addressText = entry;
      let portText: string | undefined;
      const bracketed = /^\[([^\]]+)\](?::(\d+))?$/.exec(entry);
      if (bracketed) [addressText, portText] = [bracketed[1]!, bracketed[2]];
      else if (entry.indexOf(':') === entry.lastIndexOf(':') && entry.includes(':')) [addressText, portText] = entry.split(':') as [string, string];
      let range: [ipaddr.IPv4 | ipaddr.IPv6, number];
      // Only plain four-part IPv4 (ipaddr.js also reads the legacy `1.2.3` and octal forms).
      const [bare] = addressText.split('/');
      if (!bare!.includes(':') && !ipaddr.IPv4.isValidFourPartDecimal(bare!)) throw bad();
      try {
        if (addressText.includes('/')) range = ipaddr.parseCIDR(addressText);
        else {
          const address = ipaddr.parse(addressText);
          range = [address, address.kind() === 'ipv4' ? 32 : 128];
        }
      } catch {
        throw bad();
      }
      if (portText === undefined) return { range };
      const port = Number(portText);
      if (!/^\d{1,5}$/.test(portText) || port < 1 || port > 65_535) throw bad();
      return { range, port };
    });
}

/** IPv4-mapped IPv6 addresses are judged as the IPv4 address they carry. */
function normalise(address: string): ipaddr.IPv4 | ipaddr.IPv6 {
  return ipaddr.process(address);
}

function inRange(address: ipaddr.IPv4 | ipaddr.IPv6, [network, bits]: [ipaddr.IPv4 | ipaddr.IPv6, number]): boolean {
  const normalisedNetwork = network.kind() === 'ipv6' && (network as ipaddr.IPv6).isIPv4MappedAddress() ? (network as ipaddr.IPv6).toIPv4Address() : network;
  if (address.kind() !== normalisedNetwork.kind()) return false;
  const mappedBits = normalisedNetwork !== network ? Math.max(0, bits - 96) : bits;
  return address.match(normalisedNetwork, mappedBits);
}

function isInternal(address: ipaddr.IPv4 | ipaddr.IPv6, port: number, internal: readonly ForbiddenTarget[]): boolean {
  return internal.some((forbidden) => {
    if (forbidden.port !== port) return false;
    const internalAddress = normalise(forbidden.address);
    // A database on loopback answers on every loopback address (127.0.0.2, ::1): all are it.
    if (internalAddress.range() === 'loopback') return address.range() === 'loopback';
    // One listening on every interface answers on any of this host's addresses: refuse the port
    // on every address that is not public, and on the unspecified address itself.
    if (internalAddress.range() === 'unspecified') return address.range() !== 'unicast';
    return address.toNormalizedString() === internalAddress.toNormalizedString();
  });
}

/**
 * Whether the sink may connect to `address:port` for a tenant: only public unicast addresses, or
 * ones an operator allowed in SINK_ALLOWED_TARGETS, and never the internal database. Loopback,
 * private, link-local (cloud metadata at 169.254.169.254), carrier-grade NAT, unique-local,
 * multicast, reserved and translated ranges (NAT64, 6to4, Teredo) are not public.
 */
export function judgeAddress(addressText: string, port: number, policy: TargetAddressPolicy): AddressVerdict {
  const address = normalise(addressText);
  if (isInternal(address, port, policy.internal)) return { allowed: false, reason: 'internal_database', range: address.range() };
  if (policy.allowed.some((target) => (target.port === undefined || target.port === port) && inRange(address, target.range))) return { allowed: true };
  const range = address.range();
  return range === 'unicast' ? { allowed: true } : { allowed: false, reason: 'not_public', range };
}
