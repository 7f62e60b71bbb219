import { describe, expect, it } from 'vitest';
import { clientAddress, compileTrust } from './trusted-proxy';

describe('client address behind proxies (proxy-addr semantics)', () => {
  it.each([
    // [TRUST_PROXY, socket peer, X-Forwarded-For, client]
    [false, '10.0.0.1', '203.0.113.7', '10.0.0.1'],
    // One trusted hop: the address that proxy appended, not what the client put in front of it.
    [1, '10.0.0.1', '203.0.113.7', '203.0.113.7'],
    [1, '10.0.0.1', '6.6.6.6, 203.0.113.7', '203.0.113.7'],
    [1, '10.0.0.1', '6.6.6.6,1.1.1.1,  203.0.113.7', '203.0.113.7'],
    [1, '10.0.0.1', undefined, '10.0.0.1'],
    [2, '10.0.0.1', '6.6.6.6, 203.0.113.7, 10.0.0.2', '203.0.113.7'],
    // Trusted by address: walk back while the hop is one of ours.
    [['10.0.0.0/8'], '10.0.0.1', '6.6.6.6, 203.0.113.7, 10.0.0.2', '203.0.113.7'],
    [['10.0.0.0/8'], '198.51.100.9', '6.6.6.6', '198.51.100.9'],
    [['loopback'], '127.0.0.1', '6.6.6.6, 203.0.113.7', '203.0.113.7'],
    // Every hop trusted: the leftmost entry is all there is.
    [5, '10.0.0.1', '203.0.113.7, 10.0.0.3', '203.0.113.7'],
  ] as const)('TRUST_PROXY=%j, peer %s, X-Forwarded-For %j → %s', (setting, peer, forwardedFor, expected) => {
    const trust = compileTrust(typeof setting === 'object' ? [...setting] : setting);
    expect(clientAddress(peer, forwardedFor, trust)).toBe(expected);
  });

  it('does not trust a peer it cannot read when trusting by address', () => {
    expect(clientAddress('', '203.0.113.7', compileTrust(['10.0.0.0/8']))).toBe('');
  });
});
