import { eq } from 'drizzle-orm';
import type { Context, MiddlewareHandler } from 'hono';
import { project, tenancy } from '../schema/tables';
import { knownErrors } from './api-error';
import type { AccessType, ApiEnv } from './api-env';
import { keyMatches } from './keys';

const accessTypes: readonly AccessType[] = ['client', 'server', 'admin'];

function isAccessType(value: string): value is AccessType {
  return (accessTypes as readonly string[]).includes(value);
}

async function authenticate(c: Context<ApiEnv>): Promise<void> {
  const accessTypeHeader = c.req.header('x-stack-access-type');
  const projectId = c.req.header('x-stack-project-id');
  if (accessTypeHeader === undefined) throw knownErrors.accessTypeRequired();
  if (!isAccessType(accessTypeHeader)) throw knownErrors.invalidAccessType(accessTypeHeader);
  if (!projectId) throw knownErrors.projectIdRequired();

  const { db } = c.get('deps');
  const [row] = await db
    .select({
      id: project.id,
      publishableClientKeyHash: project.publishableClientKeyHash,
      secretServerKeyHash: project.secretServerKeyHash,
      superSecretAdminKeyHash: project.superSecretAdminKeyHash,
      tenancyId: tenancy.id,
    })
    .from(project)
    .innerJoin(tenancy, eq(tenancy.projectId, project.id))
    .where(eq(project.id, projectId))
    .limit(1);
  // An unknown project and a wrong key answer alike, so ids cannot be probed with key guesses.
  switch (accessTypeHeader) {
    case 'client':
      if (!row || !keyMatches(c.req.header('x-stack-publishable-client-key'), row.publishableClientKeyHash)) throw knownErrors.invalidPublishableClientKey();
      break;
    case 'server':
      if (!row || !keyMatches(c.req.header('x-stack-secret-server-key'), row.secretServerKeyHash)) throw knownErrors.invalidSecretServerKey();
      break;
    case 'admin':
      if (!row || !keyMatches(c.req.header('x-stack-super-secret-admin-key'), row.superSecretAdminKeyHash)) throw knownErrors.invalidSuperSecretAdminKey();
      break;
  }
  c.set('project', { id: row.id, tenancyId: row.tenancyId, accessType: accessTypeHeader });
}

/**
 * Authenticates the project keys of DESIGN.md "API conventions" and admits only the given access
 * types (admin implies server).
 */
export function requireAccess(...allowed: AccessType[]): MiddlewareHandler<ApiEnv> {
  return async (c, next) => {
    await authenticate(c);
    const { accessType } = c.get('project');
    const admitted = allowed.includes(accessType) || (accessType === 'admin' && allowed.includes('server'));
    if (!admitted) throw knownErrors.insufficientAccessType(accessType, allowed);
    await next();
  };
}
