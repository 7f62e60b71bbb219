import type { Context } from 'hono';
import { z } from 'zod';
import { customerTypes, type CustomerType } from '../../schema/payment-config';
import { ApiError, knownErrors } from '../api-error';
import type { ApiEnv } from '../api-env';
import { readCurrentUser } from '../auth/current-user';
import { findMembership, teamExists, userExists } from '../teams/team-store';
import { decideCustomerAccess } from './customer-access';

/** Ids a project chooses for its `custom` customers (an organisation id, an account number…). */
export const customCustomerIdSchema = z.string().regex(/^[A-Za-z0-9_.:@-]{1,128}$/, 'letters, digits and _ . : @ - (at most 128)');

export const customerTypeSchema = z.enum(customerTypes);

export interface Customer {
  customerType: CustomerType;
  customerId: string;
}

const uuid = z.uuid();

/**
 * The customer a request names, once the caller may act for it: DESIGN.md's rules for clients
 * (api/payments/customer-access.ts), and for every caller a user or team that exists in the
 * request's own project (another project's ids are "not found", never "forbidden").
 */
export async function authorizeCustomer(c: Context<ApiEnv>, rawType: string, givenId: string): Promise<Customer> {
  const type = customerTypeSchema.safeParse(rawType);
  // Users and teams are uuids, which Postgres compares case-insensitively but purchases store as
  // text: one spelling, or a team's purchases made with an upper-case id would not count for it.
  const rawId = rawType === 'user' || rawType === 'team' ? givenId.toLowerCase() : givenId;
  if (!type.success) throw knownErrors.schema(`customer_type: one of ${customerTypes.join(', ')}`, { issues: [{ path: 'customer_type', message: `one of ${customerTypes.join(', ')}` }] });
  const customerType = type.data;
  if (customerType === 'custom') {
    const id = customCustomerIdSchema.safeParse(rawId);
    if (!id.success) throw knownErrors.schema(`customer_id: ${id.error.issues[0]?.message ?? 'not allowed'}`, { issues: [{ path: 'customer_id', message: 'not allowed' }] });
  }
  const { db } = c.get('deps');
  const { tenancyId, accessType } = c.get('project');
  const isUuid = uuid.safeParse(rawId).success;
  const signedIn = accessType === 'client' ? await readCurrentUser(c) : undefined;
  const membership = customerType === 'team' && signedIn && isUuid ? await findMembership(db, tenancyId, rawId, signedIn.id) : undefined;
  const decision = decideCustomerAccess({ accessType, signedInUserId: signedIn?.id, customerType, customerId: rawId, membership });
  if (!decision.ok) throw new ApiError(decision.status, decision.code, decision.message);
  if (customerType === 'user' && !(isUuid && (await userExists(db, tenancyId, rawId)))) throw knownErrors.userNotFound();
  if (customerType === 'team' && !(isUuid && (await teamExists(db, tenancyId, rawId)))) throw knownErrors.teamNotFound();
  return { customerType, customerId: rawId };
}
