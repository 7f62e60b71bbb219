import { describe, expect, it } from 'vitest';
import { judgeAddress, parseAllowedTargets, type TargetAddressPolicy } from './target-address-policy';

const nothingAllowed: TargetAddressPolicy = { allowed: [], internal: [{ address: '10.0.0.5', port: 5432 }] };

describe('judgeAddress', () => {
  it.each([
    ['127.0.0.1', 'loopback'],
    ['127.8.9.10', 'loopback'],
    ['::1', 'loopback'],
    ['::ffff:127.0.0.1', 'loopback'],
    ['10.1.2.3', 'private'],
    ['172.16.0.1', 'private'],
    ['192.168.1.1', 'private'],
    ['169.254.169.254', 'linkLocal'],
    ['fe80::1', 'linkLocal'],
    ['100.100.100.200', 'carrierGradeNat'],
    ['fd00:ec2::254', 'uniqueLocal'],
    ['0.0.0.0', 'unspecified'],
    ['::', 'unspecified'],
    ['224.0.0.1', 'multicast'],
    ['240.0.0.1', 'reserved'],
    ['64:ff9b::7f00:1', 'rfc6052'],
    ['2002:7f00:1::1', '6to4'],
  ])('refuses %s (%s) for tenants', (address, range) => {
    expect(judgeAddress(address, 5432, nothingAllowed)).toEqual({ allowed: false, reason: 'not_public', range });
  });

  it.each(['8.8.8.8', '203.0.114.7', '2606:4700::1111'])('allows the public address %s', (address) => {
    expect(judgeAddress(address, 5432, nothingAllowed)).toEqual({ allowed: true });
  });

  it('allows what SINK_ALLOWED_TARGETS names, by range and port', () => {
    const policy: TargetAddressPolicy = { allowed: parseAllowedTargets('127.0.0.1:54330, 10.20.0.0/16, [::1]:6000'), internal: [] };
    expect(judgeAddress('127.0.0.1', 54330, policy)).toEqual({ allowed: true });
    expect(judgeAddress('127.0.0.1', 54331, policy).allowed).toBe(false);
    expect(judgeAddress('10.20.99.1', 1, policy)).toEqual({ allowed: true });
    expect(judgeAddress('10.21.0.1', 5432, policy).allowed).toBe(false);
    expect(judgeAddress('::1', 6000, policy)).toEqual({ allowed: true });
    expect(judgeAddress('::ffff:127.0.0.1', 54330, policy)).toEqual({ allowed: true });
  });

  it('never allows the internal database, whatever is allowed', () => {
    const loopbackInternal: TargetAddressPolicy = { allowed: parseAllowedTargets('127.0.0.0/8, ::1'), internal: [{ address: '127.0.0.1', port: 54320 }] };
    // Every loopback address reaches a database listening on loopback.
    for (const address of ['127.0.0.1', '127.0.0.2', '::1', '::ffff:127.0.0.1']) {
      expect(judgeAddress(address, 54320, loopbackInternal)).toMatchObject({ allowed: false, reason: 'internal_database' });
    }
    expect(judgeAddress('127.0.0.1', 54330, loopbackInternal)).toEqual({ allowed: true });
    const remoteInternal: TargetAddressPolicy = { allowed: parseAllowedTargets('10.0.0.0/8'), internal: [{ address: '10.0.0.5', port: 5432 }] };
    expect(judgeAddress('10.0.0.5', 5432, remoteInternal)).toMatchObject({ allowed: false, reason: 'internal_database' });
    expect(judgeAddress('10.0.0.6', 5432, remoteInternal)).toEqual({ allowed: true });
    const everywhere: TargetAddressPolicy = { allowed: parseAllowedTargets('0.0.0.0/0'), internal: [{ address: '0.0.0.0', port: 5432 }] };
    expect(judgeAddress('192.168.0.9', 5432, everywhere)).toMatchObject({ allowed: false, reason: 'internal_database' });
  });
});

describe('parseAllowedTargets', () => {
  it('reads addresses, ranges and ports', () => {
    const targets = parseAllowedTargets('127.0.0.1, 10.0.0.0/8:5432, ::1, [fd00::/8]:6432, 2001:db8::/32');
    expect(targets.map((target) => [target.range[0].toString(), target.range[1], target.port])).toEqual([
      ['127.0.0.1', 32, undefined],
      ['10.0.0.0', 8, 5432],
      ['::1', 128, undefined],
      ['fd00::', 8, 6432],
      ['2001:db8::', 32, undefined],
    ]);
    expect(parseAllowedTargets('')).toEqual([]);
  });

  it.each(['localhost', '127.0.0.1:0', '127.0.0.1:70000', '10.0.0.0/33', 'example.com:5432', '1.2.3'])('refuses %s', (entry) => {
    expect(() => parseAllowedTargets(entry)).toThrow(/SINK_ALLOWED_TARGETS/);
  });
});
