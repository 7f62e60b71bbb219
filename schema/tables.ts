import { sql } from 'drizzle-orm';
import {
  boolean,
  check,
  foreignKey,
  jsonb,
  pgEnum,
  pgTable,
  primaryKey,
  text,
  timestamp,
  uniqueIndex,
  uuid,
} from 'drizzle-orm/pg-core';

/**
 * The internal (source) schema. Names follow the stack-auth Postgres schema (quoted camelCase) so
 * its mapping SQL and operators' habits carry over. No sequence ids, no DeletedRow table, no
 * triggers: the WAL is the change log (DESIGN.md).
 */

// timestamp(3) without time zone, as stack-auth has it; the cdc reader reads these values as UTC.
const instant = (name: string) => timestamp(name, { precision: 3, mode: 'date' });

export const project = pgTable('Project', {
  id: text('id').primaryKey(),
  displayName: text('displayName').notNull(),
  createdAt: instant('createdAt').notNull().defaultNow(),
  updatedAt: instant('updatedAt').notNull().defaultNow(),
  /** scrypt hashes of the three API keys; the keys themselves are shown once, at creation. */
  publishableClientKeyHash: text('publishableClientKeyHash').notNull(),
  secretServerKeyHash: text('secretServerKeyHash').notNull(),
  superSecretAdminKeyHash: text('superSecretAdminKeyHash').notNull(),
  /** Project config (schema/project-config.ts); secrets inside it are encrypted. */
  config: jsonb('config').notNull().default(sql`'{}'::jsonb`),
});

export const tenancy = pgTable(
  'Tenancy',
  {
    id: uuid('id').primaryKey(),
    projectId: text('projectId').notNull(),
    branchId: text('branchId').notNull(),
  },
  (table) => [
    foreignKey({ name: 'Tenancy_projectId_fkey', columns: [table.projectId], foreignColumns: [project.id] }).onDelete('cascade'),
    uniqueIndex('Tenancy_projectId_branchId_key').on(table.projectId, table.branchId),
  ],
);

export const projectUser = pgTable(
  'ProjectUser',
  {
    tenancyId: uuid('tenancyId').notNull(),
    projectUserId: uuid('projectUserId').notNull(),
    displayName: text('displayName'),
    profileImageUrl: text('profileImageUrl'),
    clientMetadata: jsonb('clientMetadata'),
    clientReadOnlyMetadata: jsonb('clientReadOnlyMetadata'),
    serverMetadata: jsonb('serverMetadata'),
    isAnonymous: boolean('isAnonymous').notNull().default(false),
    createdAt: instant('createdAt').notNull().defaultNow(),
    updatedAt: instant('updatedAt').notNull().defaultNow(),
    signedUpAt: instant('signedUpAt').notNull().defaultNow(),
    lastActiveAt: instant('lastActiveAt').notNull().defaultNow(),
    restrictedByAdmin: boolean('restrictedByAdmin').notNull().default(false),
    restrictedByAdminReason: text('restrictedByAdminReason'),
    restrictedByAdminPrivateDetails: text('restrictedByAdminPrivateDetails'),
  },
  (table) => [
    primaryKey({ name: 'ProjectUser_pkey', columns: [table.tenancyId, table.projectUserId] }),
    foreignKey({ name: 'ProjectUser_tenancyId_fkey', columns: [table.tenancyId], foreignColumns: [tenancy.id] }).onDelete('cascade'),
    check(
      'ProjectUser_restricted_by_admin_consistency',
      sql`${table.restrictedByAdmin} OR (${table.restrictedByAdminReason} IS NULL AND ${table.restrictedByAdminPrivateDetails} IS NULL)`,
    ),
  ],
);

export const contactChannelType = pgEnum('ContactChannelType', ['EMAIL', 'PHONE']);
/** stack-auth's tri-state flag: 'TRUE' or NULL, so a unique index allows one TRUE and many NULLs. */
export const booleanTrue = pgEnum('BooleanTrue', ['TRUE']);

export const contactChannel = pgTable(
  'ContactChannel',
  {
    tenancyId: uuid('tenancyId').notNull(),
    projectUserId: uuid('projectUserId').notNull(),
    id: uuid('id').notNull(),
    type: contactChannelType('type').notNull(),
    value: text('value').notNull(),
    isPrimary: booleanTrue('isPrimary'),
    usedForAuth: booleanTrue('usedForAuth'),
    isVerified: boolean('isVerified').notNull().default(false),
    createdAt: instant('createdAt').notNull().defaultNow(),
    updatedAt: instant('updatedAt').notNull().defaultNow(),
  },
  (table) => [
    primaryKey({ name: 'ContactChannel_pkey', columns: [table.tenancyId, table.projectUserId, table.id] }),
    foreignKey({
      name: 'ContactChannel_projectUser_fkey',
      columns: [table.tenancyId, table.projectUserId],
      foreignColumns: [projectUser.tenancyId, projectUser.projectUserId],
    }).onDelete('cascade'),
    // At most one primary channel per user and type.
    uniqueIndex('ContactChannel_primary_per_type_key').on(table.tenancyId, table.projectUserId, table.type, table.isPrimary),
    // A value used for auth belongs to one user of the tenancy.
    uniqueIndex('ContactChannel_auth_value_key').on(table.tenancyId, table.type, table.value, table.usedForAuth),
    // One account per mailbox: an address signs in one user, whatever its letter case (the API
    // stores emails lower-cased; this also holds rows written by other means).
    uniqueIndex('ContactChannel_auth_email_key')
      .on(table.tenancyId, sql`lower(${table.value})`)
      .where(sql`${table.type} = 'EMAIL' AND ${table.usedForAuth} = 'TRUE'`),
  ],
);
