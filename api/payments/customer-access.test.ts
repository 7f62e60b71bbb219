import { describe, expect, it } from 'vitest';
import { decideCustomerAccess, type CustomerAccessRequest } from './customer-access';

const me = '11111111-1111-4111-8111-111111111111';
const someoneElse = '22222222-2222-4222-8222-222222222222';
const team = '33333333-3333-4333-8333-333333333333';

const base: CustomerAccessRequest = { accessType: 'client', signedInUserId: me, customerType: 'user', customerId: me, membership: undefined };

describe('customer access', () => {
  it.each<[string, Partial<CustomerAccessRequest>, number | 'ok', string?]>([
    ['a client for its own user', {}, 'ok'],
    ['a client without a signed-in user', { signedInUserId: undefined }, 401, 'USER_AUTHENTICATION_REQUIRED'],
    ['a client for another user', { customerId: someoneElse }, 403, 'CUSTOMER_ACCESS_FORBIDDEN'],
    ['a client for a custom customer', { customerType: 'custom', customerId: 'org-1' }, 403, 'CUSTOMER_ACCESS_FORBIDDEN'],
    ['a client for a custom customer, signed out', { customerType: 'custom', customerId: 'org-1', signedInUserId: undefined }, 403, 'CUSTOMER_ACCESS_FORBIDDEN'],
    ['a client for a team it is not in', { customerType: 'team', customerId: team }, 404, 'TEAM_MEMBERSHIP_NOT_FOUND'],
    ['a client for a team without team_admin', { customerType: 'team', customerId: team, membership: { isTeamAdmin: false } }, 401, 'TEAM_PERMISSION_REQUIRED'],
    ['a client for a team with team_admin', { customerType: 'team', customerId: team, membership: { isTeamAdmin: true } }, 'ok'],
    ['a client for a team, signed out', { customerType: 'team', customerId: team, signedInUserId: undefined }, 401, 'USER_AUTHENTICATION_REQUIRED'],
    ['a server key for another user', { accessType: 'server', signedInUserId: undefined, customerId: someoneElse }, 'ok'],
    ['a server key for a custom customer', { accessType: 'server', customerType: 'custom', customerId: 'org-1' }, 'ok'],
    ['an admin key for a team', { accessType: 'admin', customerType: 'team', customerId: team }, 'ok'],
  ])('%s', (_, change, status, code) => {
    const decision = decideCustomerAccess({ ...base, ...change });
    if (status === 'ok') expect(decision).toEqual({ ok: true });
    else expect(decision).toMatchObject({ ok: false, status, code });
  });
});
