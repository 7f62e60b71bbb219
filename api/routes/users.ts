import { randomUUID } from 'node:crypto';
import { and, eq } from 'drizzle-orm';
import { Hono } from 'hono';
import { z } from 'zod';
import { projectUser } from '../../schema/tables';
import { authAddressConstraints } from '../auth/address-holders';
import { ApiError, knownErrors } from '../api-error';
import type { ApiEnv } from '../api-env';
import { parseBody } from '../parse-body';
import { postgresErrorOf, uniqueViolation } from '../pg-errors';
import { applyPrimaryEmail } from '../primary-email';
import { requireAccess } from '../project-auth';
import { loadProjectConfig } from '../project-config-store';
import { loadUserView } from '../user-view';
import { createUserBody, updateUserBody, type UpdateUserBody } from './user-body';

const userIdParam = z.uuid();

function userIdOf(raw: string): string {
  const parsed = userIdParam.safeParse(raw);
  // Not a uuid cannot name a user of this project: the same answer as an unknown id.
  if (!parsed.success) throw knownErrors.userNotFound();
  return parsed.data;
}

/** Unique-index violations of contact channels mean the email already signs in another user. */
function translateWriteError(error: unknown): never {
  const pgError = postgresErrorOf(error);
  if (pgError?.code === uniqueViolation && pgError.constraint !== undefined && authAddressConstraints.has(pgError.constraint)) throw knownErrors.userEmailAlreadyExists();
  throw error;
}

/** Unrestricting clears the reason and details; restricting sets those the body names. */
function restrictionChange(body: UpdateUserBody): Partial<typeof projectUser.$inferInsert> {
  if (body.restricted_by_admin === false) return { restrictedByAdmin: false, restrictedByAdminReason: null, restrictedByAdminPrivateDetails: null };
  return {
    ...(body.restricted_by_admin === true ? { restrictedByAdmin: true } : {}),
    ...(body.restricted_by_admin_reason !== undefined ? { restrictedByAdminReason: body.restricted_by_admin_reason } : {}),
    ...(body.restricted_by_admin_private_details !== undefined ? { restrictedByAdminPrivateDetails: body.restricted_by_admin_private_details } : {}),
  };
}

export const userRoutes = new Hono<ApiEnv>()
  .post('/users', requireAccess('server'), async (c) => {
    const { db } = c.get('deps');
    const { tenancyId } = c.get('project');
    const body = await parseBody(c, createUserBody);
    const userId = randomUUID();
    // One transaction: the user and its email channel appear together or not at all, and the
    // cdc reader publishes them as one source transaction.
    const { auth } = await loadProjectConfig(db, c.get('project').id);
    const view = await db
      .transaction(async (tx) => {
        await tx.insert(projectUser).values({
          tenancyId,
          projectUserId: userId,
          displayName: body.display_name ?? null,
          profileImageUrl: body.profile_image_url ?? null,
          clientMetadata: body.client_metadata ?? null,
          clientReadOnlyMetadata: body.client_read_only_metadata ?? null,
          serverMetadata: body.server_metadata ?? null,
          isAnonymous: body.is_anonymous ?? false,
        });
        await applyPrimaryEmail(tx, tenancyId, userId, {
          email: body.primary_email,
          verified: body.primary_email_verified,
          authEnabled: body.primary_email_auth_enabled,
        });
        return loadUserView(tx, tenancyId, userId, auth.requireEmailVerification);
      })
      .catch(translateWriteError);
    return c.json(view, 201);
  })
  .get('/users/:userId', requireAccess('server'), async (c) => {
    const { db } = c.get('deps');
    const { auth } = await loadProjectConfig(db, c.get('project').id);
    const view = await loadUserView(db, c.get('project').tenancyId, userIdOf(c.req.param('userId')), auth.requireEmailVerification);
    if (!view) throw knownErrors.userNotFound();
    return c.json(view);
  })
  .patch('/users/:userId', requireAccess('server'), async (c) => {
    const { db } = c.get('deps');
    const { tenancyId } = c.get('project');
    const userId = userIdOf(c.req.param('userId'));
    const body = await parseBody(c, updateUserBody);
    const { auth } = await loadProjectConfig(db, c.get('project').id);
    const view = await db
      .transaction(async (tx) => {
        const ofUser = and(eq(projectUser.tenancyId, tenancyId), eq(projectUser.projectUserId, userId));
        const updated = await tx
          .update(projectUser)
          .set({
            ...(body.display_name !== undefined ? { displayName: body.display_name } : {}),
            ...(body.profile_image_url !== undefined ? { profileImageUrl: body.profile_image_url } : {}),
            ...(body.client_metadata !== undefined ? { clientMetadata: body.client_metadata } : {}),
            ...(body.client_read_only_metadata !== undefined ? { clientReadOnlyMetadata: body.client_read_only_metadata } : {}),
            ...(body.server_metadata !== undefined ? { serverMetadata: body.server_metadata } : {}),
            ...restrictionChange(body),
            updatedAt: new Date(),
          })
          .where(ofUser)
          .returning({ id: projectUser.projectUserId });
        if (updated.length === 0) throw knownErrors.userNotFound();
        await applyPrimaryEmail(tx, tenancyId, userId, {
          email: body.primary_email,
          verified: body.primary_email_verified,
          authEnabled: body.primary_email_auth_enabled,
        });
        return loadUserView(tx, tenancyId, userId, auth.requireEmailVerification);
      })
      .catch((error: unknown) => (error instanceof ApiError ? Promise.reject(error) : translateWriteError(error)));
    return c.json(view);
  })
  .delete('/users/:userId', requireAccess('server'), async (c) => {
    const { db } = c.get('deps');
    const { tenancyId } = c.get('project');
    // Contact channels go with the user (ON DELETE CASCADE); the WAL carries their deletes too.
    const deleted = await db
      .delete(projectUser)
      .where(and(eq(projectUser.tenancyId, tenancyId), eq(projectUser.projectUserId, userIdOf(c.req.param('userId')))))
      .returning({ id: projectUser.projectUserId });
    if (deleted.length === 0) throw knownErrors.userNotFound();
    return c.json({ success: true });
  });
