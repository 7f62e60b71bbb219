import { and, eq } from 'drizzle-orm';
import { Hono } from 'hono';
import { projectUser } from '../../schema/tables';
import { knownErrors } from '../api-error';
import type { ApiEnv } from '../api-env';
import { requireUser } from '../auth/current-user';
import { parseBody } from '../parse-body';
import { loadProjectConfig } from '../project-config-store';
import { requireAccess } from '../project-auth';
import { clientView, loadUserView } from '../user-view';
import { updateOwnUserBody } from './user-body';

/** The signed-in user's own record: client-visible fields, client-writable fields only. */
export const currentUserRoutes = new Hono<ApiEnv>()
  .get('/users/me', requireAccess('client', 'server'), requireUser(), async (c) => {
    const { db } = c.get('deps');
    const project = c.get('project');
    const { auth } = await loadProjectConfig(db, project.id);
    const view = await loadUserView(db, project.tenancyId, c.get('user').id, auth.requireEmailVerification);
    if (!view) throw knownErrors.userNotFound();
    return c.json(clientView(view));
  })
  .patch('/users/me', requireAccess('client', 'server'), requireUser(), async (c) => {
    const { db } = c.get('deps');
    const project = c.get('project');
    const userId = c.get('user').id;
    const body = await parseBody(c, updateOwnUserBody);
    await db
      .update(projectUser)
      .set({
        ...(body.display_name !== undefined ? { displayName: body.display_name } : {}),
        ...(body.profile_image_url !== undefined ? { profileImageUrl: body.profile_image_url } : {}),
        ...(body.client_metadata !== undefined ? { clientMetadata: body.client_metadata } : {}),
        updatedAt: new Date(),
      })
      .where(and(eq(projectUser.tenancyId, project.tenancyId), eq(projectUser.projectUserId, userId)));
    const { auth } = await loadProjectConfig(db, project.id);
    const view = await loadUserView(db, project.tenancyId, userId, auth.requireEmailVerification);
    if (!view) throw knownErrors.userNotFound();
    return c.json(clientView(view));
  });
