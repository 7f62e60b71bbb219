import { sql } from 'drizzle-orm';
import { check, foreignKey, index, pgTable, text, timestamp, uuid } from 'drizzle-orm/pg-core';
import { tenancy } from './tables';

const instant = (name: string) => timestamp(name, { precision: 3, mode: 'date' });

/**
 * One row per sign-up rule that matched a sign-up (or failed to evaluate on one): the source of the
 * per-rule hourly statistics. Never published: it is not in the cdc publication.
 */
export const signUpRuleTrigger = pgTable(
  'SignUpRuleTrigger',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    projectId: text('projectId').notNull(),
    tenancyId: uuid('tenancyId').notNull(),
    ruleId: text('ruleId').notNull(),
    /** The rule's action: what it did when it matched, what it would have done when it failed. */
    action: text('action').notNull(),
    /** `matched`, or `error` when the condition could not be evaluated (the rule then did not match). */
    outcome: text('outcome').notNull(),
    /** `password` | `otp` | `oauth`: how the user signed up. */
    authMethod: text('authMethod').notNull(),
    /** The OAuth provider (`apple`), '' for other methods. */
    oauthProvider: text('oauthProvider').notNull().default(''),
    /** UTC. */
    triggeredAt: instant('triggeredAt').notNull(),
  },
  (table) => [
    foreignKey({ name: 'SignUpRuleTrigger_tenancyId_fkey', columns: [table.tenancyId], foreignColumns: [tenancy.id] }).onDelete('cascade'),
    // The statistics read one tenancy's last 48 hours.
    index('SignUpRuleTrigger_tenancyId_triggeredAt_idx').on(table.tenancyId, table.triggeredAt),
    check('SignUpRuleTrigger_action_check', sql`${table.action} IN ('allow', 'reject', 'restrict', 'log')`),
    check('SignUpRuleTrigger_outcome_check', sql`${table.outcome} IN ('matched', 'error')`),
  ],
);
