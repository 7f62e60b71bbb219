import { randomUUID } from 'node:crypto';
import { Hono } from 'hono';
import { projectUser } from '../../schema/tables';
import { knownErrors } from '../api-error';
import type { ApiEnv } from '../api-env';
import { issueTokens } from '../auth/issue-tokens';
import { emptyBody, parseBody } from '../parse-body';
import { loadProjectConfig } from '../project-config-store';
import { requireAccess } from '../project-auth';
import { recordAnalyticsEvent } from '../analytics/events';

/** A user with no credentials yet; signing up with a password or a code later keeps its id. */
export const anonymousAuthRoutes = new Hono<ApiEnv>().post('/auth/anonymous/sign-up', requireAccess('client', 'server'), async (c) => {
  const deps = c.get('deps');
  const project = c.get('project');
  await parseBody(c, emptyBody);
  const config = await loadProjectConfig(deps.db, project.id);
  if (!config.auth.anonymousEnabled) throw knownErrors.anonymousNotEnabled();
  const userId = randomUUID();
  const result = await deps.db.transaction(async (tx) => {
    await tx.insert(projectUser).values({ tenancyId: project.tenancyId, projectUserId: userId, isAnonymous: true });
    await recordAnalyticsEvent(tx, { projectId: project.id, tenancyId: project.tenancyId, userId }, {
      type: 'sign_up',
      data: { auth_method: 'anonymous', upgraded_from_anonymous: false },
    });
    return issueTokens(deps, project, { id: userId, isAnonymous: true }, tx);
  });
  return c.json(result, 201);
});
