import proxyaddr from 'proxy-addr';
import type { TrustProxySetting } from '../../schema/env-config';

/** proxy-addr's trust test: may the hop at `hop` (0 = the socket's peer) report the address before it? */
export type TrustFunction = (address: string, hop: number) => boolean;

/** TRUST_PROXY as a trust function: nobody, the nearest `n` hops, or the listed addresses and CIDRs. */
export function compileTrust(setting: TrustProxySetting): TrustFunction {
  if (setting === false) return () => false;
  if (typeof setting === 'number') return (_address, hop) => hop < setting;
  return proxyaddr.compile(setting);
}

/**
 * The client's address, as proxy-addr determines it: start at the socket's peer and walk
 * X-Forwarded-For from the right (the entry the nearest proxy appended) while the current hop is
 * trusted. Entries left of the first untrusted address were written by the client and are never
 * believed; the leftmost one is the client only when every proxy in the chain is trusted.
 */
export function clientAddress(socketAddress: string, forwardedFor: string | undefined, trust: TrustFunction): string {
  const forwarded = (forwardedFor ?? '')
    .split(',')
    .map((entry) => entry.trim())
    .filter((entry) => entry.length > 0)
    .reverse();
  const chain = [socketAddress, ...forwarded];
  for (let hop = 0; hop < chain.length - 1; hop++) {
    if (!trust(chain[hop]!, hop)) return chain[hop]!;
  }
  return chain[chain.length - 1]!;
}
