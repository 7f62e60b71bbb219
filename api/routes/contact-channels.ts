import { randomUUID } from 'node:crypto';
import { and, eq } from 'drizzle-orm';
import { Hono } from 'hono';
import { z } from 'zod';
import { contactChannel, projectUser } from '../../schema/tables';
import { ApiError, knownErrors } from '../api-error';
import type { ApiEnv } from '../api-env';
import { parseBody } from '../parse-body';
import { postgresErrorOf, uniqueViolation } from '../pg-errors';
import { requireAccess } from '../project-auth';

const createContactChannelBody = z.strictObject({
  user_id: z.uuid(),
  type: z.enum(['email', 'phone']),
  value: z.string().trim().min(1).max(254),
  is_verified: z.boolean().default(false),
  is_primary: z.boolean().default(false),
  used_for_auth: z.boolean().default(false),
}).refine((body) => body.type !== 'email' || z.email().safeParse(body.value).success, { message: 'not an email address', path: ['value'] });

export interface ContactChannelView {
  id: string;
  user_id: string;
  type: 'email' | 'phone';
  value: string;
  is_primary: boolean;
  is_verified: boolean;
  used_for_auth: boolean;
}

export const contactChannelRoutes = new Hono<ApiEnv>().post('/contact-channels', requireAccess('server'), async (c) => {
  const { db } = c.get('deps');
  const { tenancyId } = c.get('project');
  const body = await parseBody(c, createContactChannelBody);
  const type = body.type === 'email' ? 'EMAIL' : 'PHONE';
  const id = randomUUID();
  await db
    .transaction(async (tx) => {
      const [owner] = await tx
        .select({ id: projectUser.projectUserId })
        .from(projectUser)
        .where(and(eq(projectUser.tenancyId, tenancyId), eq(projectUser.projectUserId, body.user_id)))
        .for('update');
      if (!owner) throw knownErrors.userNotFound();
      if (body.is_primary) {
        // At most one primary per user and type: the previous primary steps down in the same
        // transaction, so consumers never see two.
        await tx
          .update(contactChannel)
          .set({ isPrimary: null, updatedAt: new Date() })
          .where(
            and(
              eq(contactChannel.tenancyId, tenancyId),
              eq(contactChannel.projectUserId, body.user_id),
              eq(contactChannel.type, type),
              eq(contactChannel.isPrimary, 'TRUE'),
            ),
          );
      }
      await tx.insert(contactChannel).values({
        tenancyId,
        projectUserId: body.user_id,
        id,
        type,
        value: body.value,
        isPrimary: body.is_primary ? 'TRUE' : null,
        isVerified: body.is_verified,
        usedForAuth: body.used_for_auth ? 'TRUE' : null,
      });
    })
    .catch((error: unknown) => {
      if (error instanceof ApiError) throw error;
      const pgError = postgresErrorOf(error);
      if (pgError?.code === uniqueViolation && pgError.constraint === 'ContactChannel_auth_value_key') throw knownErrors.contactChannelAlreadyExists();
      throw error;
    });
  const view: ContactChannelView = {
    id,
    user_id: body.user_id,
    type: body.type,
    value: body.value,
    is_primary: body.is_primary,
    is_verified: body.is_verified,
    used_for_auth: body.used_for_auth,
  };
  return c.json(view, 201);
});
