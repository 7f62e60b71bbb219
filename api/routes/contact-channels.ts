import { randomUUID } from 'node:crypto';
import { and, asc, eq, ne } from 'drizzle-orm';
import type { Context } from 'hono';
import { Hono } from 'hono';
import { z } from 'zod';
import { contactChannel, projectUser } from '../../schema/tables';
import { ApiError, knownErrors } from '../api-error';
import type { ApiEnv, Database } from '../api-env';
import { authAddressConstraints, claimAddress } from '../auth/address-holders';
import { countAttempt } from '../auth/attempt-limits';
import { readCurrentUser } from '../auth/current-user';
import { normaliseChannelValue } from '../channel-values';
import { parseBody } from '../parse-body';
import { postgresErrorOf, uniqueViolation } from '../pg-errors';
import { requireAccess } from '../project-auth';

type Transaction = Parameters<Parameters<Database['transaction']>[0]>[0];
type ChannelRow = typeof contactChannel.$inferSelect;

const userRef = z.union([z.literal('me'), z.uuid()]);

export const createContactChannelBody = z
  .strictObject({
    user_id: userRef,
    type: z.enum(['email', 'phone']),
    value: z.string().trim().min(1).max(254),
    is_verified: z.boolean().default(false),
    is_primary: z.boolean().default(false),
    used_for_auth: z.boolean().default(false),
  })
  .refine((body) => body.type !== 'email' || z.email().safeParse(body.value).success, { message: 'not an email address', path: ['value'] });

export const updateContactChannelBody = z.strictObject({
  value: z.string().trim().min(1).max(254).optional(),
  is_verified: z.boolean().optional(),
  is_primary: z.boolean().optional(),
  used_for_auth: z.boolean().optional(),
});

export interface ContactChannelView {
  id: string;
  user_id: string;
  type: 'email' | 'phone';
  value: string;
  is_primary: boolean;
  is_verified: boolean;
  used_for_auth: boolean;
}

function toView(row: ChannelRow): ContactChannelView {
  return {
    id: row.id,
    user_id: row.projectUserId,
    type: row.type === 'EMAIL' ? 'email' : 'phone',
    value: row.value,
    is_primary: row.isPrimary === 'TRUE',
    is_verified: row.isVerified,
    used_for_auth: row.usedForAuth === 'TRUE',
  };
}

/**
 * Whose channels a request may touch: a server request names any user of its project; a client
 * request only its own signed-in user ('me' or its own id), and may not mark anything verified.
 */
async function targetUser(c: Context<ApiEnv>, ref: string): Promise<string> {
  const { accessType } = c.get('project');
  if (accessType === 'client' || ref === 'me') {
    const current = await readCurrentUser(c);
    if (!current) throw knownErrors.userAuthenticationRequired();
    if (ref !== 'me' && ref !== current.id) throw knownErrors.userNotFound();
    return current.id;
  }
  const parsed = z.uuid().safeParse(ref);
  if (!parsed.success) throw knownErrors.userNotFound();
  return parsed.data;
}

function forbidClientVerification(c: Context<ApiEnv>, isVerified: boolean | undefined): void {
  if (c.get('project').accessType === 'client' && isVerified === true) {
    throw knownErrors.schema('Request validation failed on body — is_verified: only a server may mark a channel verified', {
      issues: [{ path: 'is_verified', message: 'only a server may mark a channel verified' }],
    });
  }
}

async function lockUser(tx: Transaction, tenancyId: string, userId: string): Promise<void> {
  const [owner] = await tx
    .select({ id: projectUser.projectUserId })
    .from(projectUser)
    .where(and(eq(projectUser.tenancyId, tenancyId), eq(projectUser.projectUserId, userId)))
    .for('update');
  if (!owner) throw knownErrors.userNotFound();
}

/** At most one primary per user and type: the previous one steps down in the same transaction. */
async function demotePrimary(tx: Transaction, tenancyId: string, userId: string, type: 'EMAIL' | 'PHONE', exceptId?: string): Promise<void> {
  await tx
    .update(contactChannel)
    .set({ isPrimary: null, updatedAt: new Date() })
    .where(
      and(
        eq(contactChannel.tenancyId, tenancyId),
        eq(contactChannel.projectUserId, userId),
        eq(contactChannel.type, type),
        eq(contactChannel.isPrimary, 'TRUE'),
        ...(exceptId ? [ne(contactChannel.id, exceptId)] : []),
      ),
    );
}

function translateWriteError(error: unknown): never {
  if (error instanceof ApiError) throw error;
  const pgError = postgresErrorOf(error);
  if (pgError?.code === uniqueViolation && pgError.constraint !== undefined && authAddressConstraints.has(pgError.constraint)) throw knownErrors.contactChannelAlreadyExists();
  throw error;
}

/**
 * A client learns from 409 vs success whether an address signs someone in: such requests count
 * against the same per-IP and per-address limits as sign-in. A server holds the secret key and can
 * list users anyway, so its requests (imports, admin tools) are not limited.
 */
async function limitClientClaim(c: Context<ApiEnv>, value: string): Promise<void> {
  if (c.get('project').accessType === 'client') await countAttempt(c, 'contact-channel', value);
}

/**
 * A channel that becomes a sign-in address claims it (api/auth/address-claims.ts): an unverified
 * holder elsewhere loses it (keeping it as a contact), a verified one answers 409.
 */
function claimForSignIn(tx: Transaction, tenancyId: string, userId: string, type: 'EMAIL' | 'PHONE', value: string) {
  return claimAddress(tx, tenancyId, { claimantUserId: userId, type, value }, knownErrors.contactChannelAlreadyExists);
}

export const contactChannelRoutes = new Hono<ApiEnv>()
  .post('/contact-channels', requireAccess('client', 'server'), async (c) => {
    const { db } = c.get('deps');
    const { tenancyId } = c.get('project');
    const body = await parseBody(c, createContactChannelBody);
    forbidClientVerification(c, body.is_verified);
    const userId = await targetUser(c, body.user_id);
    const type = body.type === 'email' ? 'EMAIL' : 'PHONE';
    const value = normaliseChannelValue(type, body.value);
    if (body.used_for_auth) await limitClientClaim(c, value);
    const row = await db
      .transaction(async (tx) => {
        await lockUser(tx, tenancyId, userId);
        if (body.used_for_auth) await claimForSignIn(tx, tenancyId, userId, type, value);
        if (body.is_primary) await demotePrimary(tx, tenancyId, userId, type);
        const [inserted] = await tx
          .insert(contactChannel)
          .values({
            tenancyId,
            projectUserId: userId,
            id: randomUUID(),
            type,
            value,
            isPrimary: body.is_primary ? 'TRUE' : null,
            isVerified: body.is_verified,
            usedForAuth: body.used_for_auth ? 'TRUE' : null,
          })
          .returning();
        return inserted!;
      })
      .catch(translateWriteError);
    return c.json(toView(row), 201);
  })
  .get('/contact-channels', requireAccess('client', 'server'), async (c) => {
    const { db } = c.get('deps');
    const { tenancyId } = c.get('project');
    const userId = await targetUser(c, c.req.query('user_id') ?? 'me');
    const [owner] = await db
      .select({ id: projectUser.projectUserId })
      .from(projectUser)
      .where(and(eq(projectUser.tenancyId, tenancyId), eq(projectUser.projectUserId, userId)));
    if (!owner) throw knownErrors.userNotFound();
    const rows = await db
      .select()
      .from(contactChannel)
      .where(and(eq(contactChannel.tenancyId, tenancyId), eq(contactChannel.projectUserId, userId)))
      .orderBy(asc(contactChannel.createdAt), asc(contactChannel.id));
    return c.json({ items: rows.map(toView), pagination: { next_cursor: null } });
  })
  .patch('/contact-channels/:userId/:channelId', requireAccess('client', 'server'), async (c) => {
    const { db } = c.get('deps');
    const { tenancyId } = c.get('project');
    const body = await parseBody(c, updateContactChannelBody);
    forbidClientVerification(c, body.is_verified);
    const userId = await targetUser(c, c.req.param('userId'));
    const channelId = z.uuid().safeParse(c.req.param('channelId'));
    if (!channelId.success) throw knownErrors.contactChannelNotFound();
    const ofChannel = and(eq(contactChannel.tenancyId, tenancyId), eq(contactChannel.projectUserId, userId), eq(contactChannel.id, channelId.data));
    if (body.value !== undefined || body.used_for_auth === true) {
      // Counted before the transaction, which should not hold a connection while the limiter uses another.
      const [before] = await db.select({ type: contactChannel.type, value: contactChannel.value }).from(contactChannel).where(ofChannel);
      if (before) await limitClientClaim(c, body.value === undefined ? before.value : normaliseChannelValue(before.type, body.value));
    }
    const row = await db
      .transaction(async (tx) => {
        const [current] = await tx.select().from(contactChannel).where(ofChannel).for('update');
        if (!current) throw knownErrors.contactChannelNotFound();
        if (body.is_primary === true) await demotePrimary(tx, tenancyId, userId, current.type, current.id);
        const value = body.value === undefined ? current.value : normaliseChannelValue(current.type, body.value);
        const valueChanged = value !== current.value;
        const usedForAuth = body.used_for_auth === undefined ? current.usedForAuth : body.used_for_auth ? ('TRUE' as const) : null;
        if (usedForAuth === 'TRUE' && (valueChanged || current.usedForAuth !== 'TRUE')) await claimForSignIn(tx, tenancyId, userId, current.type, value);
        const [updated] = await tx
          .update(contactChannel)
          .set({
            value,
            // A new address is unproven until verified again.
            isVerified: body.is_verified ?? (valueChanged ? false : current.isVerified),
            ...(body.is_primary !== undefined ? { isPrimary: body.is_primary ? ('TRUE' as const) : null } : {}),
            usedForAuth,
            updatedAt: new Date(),
          })
          .where(ofChannel)
          .returning();
        return updated!;
      })
      .catch(translateWriteError);
    return c.json(toView(row));
  })
  .delete('/contact-channels/:userId/:channelId', requireAccess('client', 'server'), async (c) => {
    const { db } = c.get('deps');
    const { tenancyId } = c.get('project');
    const userId = await targetUser(c, c.req.param('userId'));
    const channelId = z.uuid().safeParse(c.req.param('channelId'));
    if (!channelId.success) throw knownErrors.contactChannelNotFound();
    const deleted = await db
      .delete(contactChannel)
      .where(and(eq(contactChannel.tenancyId, tenancyId), eq(contactChannel.projectUserId, userId), eq(contactChannel.id, channelId.data)))
      .returning({ id: contactChannel.id });
    if (deleted.length === 0) throw knownErrors.contactChannelNotFound();
    return c.json({ success: true });
  });
