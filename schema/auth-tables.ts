
import { bigint, foreignKey, index, integer, jsonb, pgTable, primaryKey, text, timestamp, uniqueIndex, uuid, varchar } from 'drizzle-orm/pg-core';
import { project, projectUser, tenancy } from './tables';

/**
 * Authentication state of the API. None of these tables is published: they never leave the
 * internal database (the publication lists "ProjectUser" and "ContactChannel" only).
 */

const instant = (name: string) => timestamp(name, { precision: 3, mode: 'date' });

/** A user's password, hashed with scrypt (memory-hard); at most one per user. */
export const passwordCredential = pgTable(
  'PasswordCredential',
  {
    tenancyId: uuid('tenancyId').notNull(),
    projectUserId: uuid('projectUserId').notNull(),
    /** `scrypt$<logN>$<r>$<p>$<salt>$<hash>`, base64url parts. */
    passwordHash: text('passwordHash').notNull(),
    createdAt: instant('createdAt').notNull().defaultNow(),
    updatedAt: instant('updatedAt').notNull().defaultNow(),
  },
  (table) => [
    primaryKey({ name: 'PasswordCredential_pkey', columns: [table.tenancyId, table.projectUserId] }),
    foreignKey({
      name: 'PasswordCredential_projectUser_fkey',
      columns: [table.tenancyId, table.projectUserId],
      foreignColumns: [projectUser.tenancyId, projectUser.projectUserId],
    }).onDelete('cascade'),
  ],
);

/** A signed-in session: the family of its rotating refresh tokens. */
export const authSession = pgTable(
  'AuthSession',
  {
    id: uuid('id').primaryKey(),
    tenancyId: uuid('tenancyId').notNull(),
    projectUserId: uuid('projectUserId').notNull(),
    createdAt: instant('createdAt').notNull().defaultNow(),
    /** Set on sign-out or when a used refresh token is presented again (reuse detection). */
    revokedAt: instant('revokedAt'),
    revokedReason: text('revokedReason'),
  },
  (table) => [
    foreignKey({
      name: 'AuthSession_projectUser_fkey',
      columns: [table.tenancyId, table.projectUserId],
      foreignColumns: [projectUser.tenancyId, projectUser.projectUserId],
    }).onDelete('cascade'),
  ],
);

/** One refresh token of a session; each is usable once, then replaced by the next. */
export const refreshToken = pgTable(
  'RefreshToken',
  {
    id: uuid('id').primaryKey(),
    sessionId: uuid('sessionId').notNull(),
    /** SHA-256 of the token; the token itself is only ever in the client's hands. */
    tokenHash: text('tokenHash').notNull(),
    createdAt: instant('createdAt').notNull().defaultNow(),
    expiresAt: instant('expiresAt').notNull(),
    usedAt: instant('usedAt'),
  },
  (table) => [
    foreignKey({ name: 'RefreshToken_session_fkey', columns: [table.sessionId], foreignColumns: [authSession.id] }).onDelete('cascade'),
    uniqueIndex('RefreshToken_tokenHash_key').on(table.tokenHash),
  ],
);

/** ES256 keys that sign a project's access tokens; retired keys stay in the JWKS until their tokens expire. */
export const signingKey = pgTable(
  'SigningKey',
  {
    kid: text('kid').primaryKey(),
    projectId: text('projectId').notNull(),
    /** The private JWK, sealed with STACK_SECRET_KEY. */
    privateJwkSealed: text('privateJwkSealed').notNull(),
    publicJwk: jsonb('publicJwk').notNull(),
    createdAt: instant('createdAt').notNull().defaultNow(),
    /** When it stopped signing; its public key is published for one more token lifetime. */
    retiredAt: instant('retiredAt'),
  },
  (table) => [
    foreignKey({ name: 'SigningKey_project_fkey', columns: [table.projectId], foreignColumns: [project.id] }).onDelete('cascade'),
    index('SigningKey_projectId_idx').on(table.projectId),
  ],
);

/** One-time sign-in codes sent by email. */
export const otpCode = pgTable(
  'OtpCode',
  {
    id: uuid('id').primaryKey(),
    tenancyId: uuid('tenancyId').notNull(),
    email: text('email').notNull(),
    /** SHA-256 of `<id>:<code>`. */
    codeHash: text('codeHash').notNull(),
    createdAt: instant('createdAt').notNull().defaultNow(),
    expiresAt: instant('expiresAt').notNull(),
    usedAt: instant('usedAt'),
    failedAttempts: integer('failedAttempts').notNull().default(0),
  },
  (table) => [foreignKey({ name: 'OtpCode_tenancy_fkey', columns: [table.tenancyId], foreignColumns: [tenancy.id] }).onDelete('cascade')],
);

/** Emails to send; the dev sender leaves them here for people and tests to read. */
export const emailOutbox = pgTable(
  'EmailOutbox',
  {
    id: uuid('id').primaryKey(),
    tenancyId: uuid('tenancyId').notNull(),
    recipient: text('recipient').notNull(),
    subject: text('subject').notNull(),
    body: text('body').notNull(),
    createdAt: instant('createdAt').notNull().defaultNow(),
    sentAt: instant('sentAt'),
  },
  (table) => [
    foreignKey({ name: 'EmailOutbox_tenancy_fkey', columns: [table.tenancyId], foreignColumns: [tenancy.id] }).onDelete('cascade'),
    index('EmailOutbox_tenancy_created_idx').on(table.tenancyId, table.createdAt),
  ],
);

/** A user's account at an OAuth provider (Apple), by the provider's stable subject id. */
export const oauthAccount = pgTable(
  'OAuthAccount',
  {
    tenancyId: uuid('tenancyId').notNull(),
    provider: text('provider').notNull(),
    providerAccountId: text('providerAccountId').notNull(),
    projectUserId: uuid('projectUserId').notNull(),
    email: text('email'),
    createdAt: instant('createdAt').notNull().defaultNow(),
  },
  (table) => [
    primaryKey({ name: 'OAuthAccount_pkey', columns: [table.tenancyId, table.provider, table.providerAccountId] }),
    foreignKey({
      name: 'OAuthAccount_projectUser_fkey',
      columns: [table.tenancyId, table.projectUserId],
      foreignColumns: [projectUser.tenancyId, projectUser.projectUserId],
    }).onDelete('cascade'),
  ],
);

/**
 * Rate-limit counters shared by every API process (fixed windows). The layout is the one
 * rate-limiter-flexible's Postgres store reads and writes with one atomic upsert per attempt.
 */
export const rateLimitCounter = pgTable('RateLimitCounter', {
  /** `<rule>:<sha256 of the subject>`: no email address or IP is stored in clear. */
  key: varchar('key', { length: 255 }).primaryKey(),
  /** Attempts counted in the current window. */
  points: integer('points').notNull().default(0),
  /** End of the current window, in ms since the epoch. */
  expire: bigint('expire', { mode: 'number' }),
});
