import { randomUUID } from 'node:crypto';
import { Hono } from 'hono';
import { z } from 'zod';
import { project, tenancy } from '../../schema/tables';
import { knownErrors } from '../api-error';
import type { ApiEnv } from '../api-env';
import { generateProjectKeys, hashKey, keyMatches } from '../keys';
import { parseBody } from '../parse-body';
import { requireAccess } from '../project-auth';

export const createProjectBody = z.strictObject({
  display_name: z.string().trim().min(1).max(200),
});


export const projectRoutes = new Hono<ApiEnv>()
  /** Creates a project with its main tenancy and returns its keys, which are never shown again. */
  .post('/internal/projects', async (c) => {
    const deps = c.get('deps');
    if (!keyMatches(c.req.header('x-stack-internal-admin-key'), hashKey(deps.internalAdminKey))) throw knownErrors.invalidInternalAdminKey();
    const body = await parseBody(c, createProjectBody);
    const keys = generateProjectKeys();
    const projectId = randomUUID();
    const tenancyId = randomUUID();
    await deps.db.transaction(async (tx) => {
      await tx.insert(project).values({
        id: projectId,
        displayName: body.display_name,
        publishableClientKeyHash: hashKey(keys.publishableClientKey),
        secretServerKeyHash: hashKey(keys.secretServerKey),
        superSecretAdminKeyHash: hashKey(keys.superSecretAdminKey),
      });
      await tx.insert(tenancy).values({ id: tenancyId, projectId, branchId: 'main' });
    });
    return c.json(
      {
        id: projectId,
        display_name: body.display_name,
        tenancy_id: tenancyId,
        publishable_client_key: keys.publishableClientKey,
        secret_server_key: keys.secretServerKey,
        super_secret_admin_key: keys.superSecretAdminKey,
      },
      201,
    );
  })
  .get('/internal/projects/current', requireAccess('admin'), async (c) => {
    const current = c.get('project');
    return c.json({ id: current.id, tenancy_id: current.tenancyId });
  });
