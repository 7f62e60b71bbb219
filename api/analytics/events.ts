import { z } from 'zod';
import { analyticsEvent } from '../../schema/analytics-tables';
import type { Database } from '../api-env';

type Transaction = Parameters<Parameters<Database['transaction']>[0]>[0];

const authMethod = z.enum(['password', 'otp', 'oauth', 'anonymous']);
/** Money as the API writes it: a decimal string of USD ("12.5"), never a float. */
const usdAmount = z.string().regex(/^[0-9]+(\.[0-9]{1,2})?$/);

/**
 * The events of DESIGN.md "Analytics", as rows of `analytics.events` show them: `event_type` and the
 * `data` object of each. Only what an admin's statistics need: no addresses, tokens or secrets.
 */
export const analyticsEventInput = z.discriminatedUnion('type', [
  z.strictObject({
    type: z.literal('sign_up'),
    data: z.strictObject({
      auth_method: authMethod,
      /** 'apple', … when auth_method is oauth. */
      oauth_provider: z.string().optional(),
      /** An anonymous user became a real one (same user id). */
      upgraded_from_anonymous: z.boolean(),
    }),
  }),
  z.strictObject({
    type: z.literal('sign_in'),
    data: z.strictObject({ auth_method: authMethod.exclude(['anonymous']), oauth_provider: z.string().optional() }),
  }),
  z.strictObject({ type: z.literal('token_refresh'), data: z.strictObject({ session_id: z.uuid() }) }),
  // Written by the sign-up rules, the purchases and the refunds when they exist (see the README).
  z.strictObject({
    type: z.literal('sign_up_rule_match'),
    data: z.strictObject({
      rule_id: z.string(),
      action: z.enum(['allow', 'reject', 'restrict', 'log']),
      auth_method: authMethod.exclude(['anonymous']),
      oauth_provider: z.string().optional(),
    }),
  }),
  z.strictObject({
    type: z.literal('purchase'),
    data: z.strictObject({
      purchase_id: z.string(),
      customer_type: z.enum(['user', 'team', 'custom']),
      customer_id: z.string(),
      product_id: z.string().optional(),
      amount_usd: usdAmount,
      test_mode: z.boolean(),
    }),
  }),
  z.strictObject({
    type: z.literal('refund'),
    data: z.strictObject({ purchase_id: z.string(), refund_id: z.string().optional(), amount_usd: usdAmount }),
  }),
]);

export type AnalyticsEventInput = z.infer<typeof analyticsEventInput>;
export type AnalyticsEventType = AnalyticsEventInput['type'];

export interface AnalyticsEventSubject {
  projectId: string;
  tenancyId: string;
  /** The user the event is about, if any. */
  userId?: string | null;
}

/**
 * Records one event. Call it with the transaction of the action it records, so that the event
 * exists exactly when the action committed (a rolled-back sign-up leaves no sign-up event).
 */
export async function recordAnalyticsEvent(tx: Transaction | Database, subject: AnalyticsEventSubject, event: AnalyticsEventInput): Promise<void> {
  const parsed = analyticsEventInput.parse(event);
  await tx.insert(analyticsEvent).values({
    tenancyId: subject.tenancyId,
    projectId: subject.projectId,
    projectUserId: subject.userId ?? null,
    type: parsed.type,
    data: parsed.data,
  });
}
