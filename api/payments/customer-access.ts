import type { CustomerType } from '../../schema/payment-config';
import type { AccessType } from '../api-env';

/**
 * Who may read a customer's items and products and start purchases for it (DESIGN.md "Teams,
 * payments and refunds"): a client only for its signed-in user, or for a team where that user holds
 * `team_admin`, never for a `custom` customer; server and admin keys for any customer of their own
 * project (that the customer exists in the project is the caller's check). Pure.
 */

export interface CustomerAccessRequest {
  accessType: AccessType;
  /** The user of the request's access token, if any. */
  signedInUserId: string | undefined;
  customerType: CustomerType;
  customerId: string;
  /** The signed-in user's membership of the team named by customerId (team customers only). */
  membership: { isTeamAdmin: boolean } | undefined;
}

export type CustomerAccessDecision =
  | { ok: true }
  | {
      ok: false;
      status: 401 | 403 | 404;
      code: 'USER_AUTHENTICATION_REQUIRED' | 'CUSTOMER_ACCESS_FORBIDDEN' | 'TEAM_MEMBERSHIP_NOT_FOUND' | 'TEAM_PERMISSION_REQUIRED';
      message: string;
    };

export function decideCustomerAccess(request: CustomerAccessRequest): CustomerAccessDecision {
  if (request.accessType !== 'client') return { ok: true };
  if (request.customerType === 'custom') {
    return { ok: false, status: 403, code: 'CUSTOMER_ACCESS_FORBIDDEN', message: 'Clients cannot act for custom customers; use a server key.' };
  }
  if (request.signedInUserId === undefined) {
    return { ok: false, status: 401, code: 'USER_AUTHENTICATION_REQUIRED', message: 'Send a signed-in user’s access token (x-stack-access-token).' };
  }
  if (request.customerType === 'user') {
    if (request.customerId === request.signedInUserId) return { ok: true };
    return { ok: false, status: 403, code: 'CUSTOMER_ACCESS_FORBIDDEN', message: 'Clients can act only for their own user.' };
  }
  if (!request.membership) {
    // The same answer for a team that does not exist: a client cannot probe other teams' ids.
    return { ok: false, status: 404, code: 'TEAM_MEMBERSHIP_NOT_FOUND', message: 'The signed-in user is not a member of this team.' };
  }
  if (!request.membership.isTeamAdmin) {
    return { ok: false, status: 401, code: 'TEAM_PERMISSION_REQUIRED', message: 'The signed-in user needs the team_admin permission of this team.' };
  }
  return { ok: true };
}
