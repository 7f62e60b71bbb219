import { Hono } from 'hono';
import { z } from 'zod';
import { knownErrors } from '../api-error';
import type { ApiEnv } from '../api-env';
import { emptyBody, parseBody } from '../parse-body';
import { requireAccess } from '../project-auth';

const projectIdParam = z.string().min(1).max(100);

export const jwksRoutes = new Hono<ApiEnv>()
  /** Public: anyone can verify the project's access tokens with these keys. */
  .get('/projects/:projectId/.well-known/jwks.json', async (c) => {
    const projectId = projectIdParam.safeParse(c.req.param('projectId'));
    if (!projectId.success) throw knownErrors.projectNotFound();
    const jwks = await c.get('deps').signingKeys.publicJwks(projectId.data);
    return c.json(jwks, 200, { 'cache-control': 'public, max-age=300' });
  })
  /** Starts signing with a new key; tokens signed with the old one stay valid until they expire. */
  .post('/internal/signing-keys/rotate', requireAccess('admin'), async (c) => {
    await parseBody(c, emptyBody);
    const key = await c.get('deps').signingKeys.rotate(c.get('project').id);
    return c.json({ kid: key.kid });
  });
