import type { MiddlewareHandler } from 'hono';
import { knownErrors } from './api-error';
import type { ApiEnv } from './api-env';
import { hashKey, keyMatches } from './keys';
import { requireAccess } from './project-auth';

/**
 * For the operator routes: a project's admin key (that project's scope), or the internal admin key
 * (`x-stack-internal-admin-key`: the whole deployment's scope). Which one was presented is in
 * `c.get('operator')`; with the internal key there is no project.
 */
export function requireProjectAdminOrInternalKey(): MiddlewareHandler<ApiEnv> {
  const projectAdmin = requireAccess('admin');
  return async (c, next) => {
    const internalKey = c.req.header('x-stack-internal-admin-key');
    if (internalKey === undefined) {
      c.set('operator', 'project-admin');
      return projectAdmin(c, next);
    }
    if (!keyMatches(internalKey, hashKey(c.get('deps').internalAdminKey))) throw knownErrors.invalidInternalAdminKey();
    c.set('operator', 'internal-admin');
    await next();
  };
}
