import { and, asc, eq, gt, or, sql, type SQL } from 'drizzle-orm';
import { Hono } from 'hono';
import { contactChannel, projectUser } from '../../schema/tables';
import { knownErrors } from '../api-error';
import type { ApiEnv } from '../api-env';
import { loadProjectConfig } from '../project-config-store';
import { requireAccess } from '../project-auth';
import { primaryEmailOfUser, toUserView } from '../user-view';
import { listUsersQuery } from './user-body';

/** Keyset pagination: the cursor is the last item's (signed-up time, id), opaque to clients. */
function encodeCursor(signedUpAt: Date, id: string): string {
  return Buffer.from(`${signedUpAt.toISOString()}|${id}`).toString('base64url');
}

function decodeCursor(cursor: string): { signedUpAt: Date; id: string } {
  const [iso, id] = Buffer.from(cursor, 'base64url').toString('utf8').split('|');
  const signedUpAt = new Date(iso ?? '');
  if (!id || Number.isNaN(signedUpAt.getTime())) throw knownErrors.schema('Request validation failed on query — cursor: not a cursor this API returned', { issues: [{ path: 'cursor', message: 'invalid cursor' }] });
  return { signedUpAt, id };
}

export const userListRoutes = new Hono<ApiEnv>().get('/users', requireAccess('server'), async (c) => {
  const { db } = c.get('deps');
  const project = c.get('project');
  const parsedQuery = listUsersQuery.safeParse(c.req.query());
  if (!parsedQuery.success) {
    const issues = parsedQuery.error.issues.map((issue) => ({ path: issue.path.join('.') || '(query)', message: issue.message }));
    throw knownErrors.schema(`Request validation failed on query — ${issues.map((issue) => `${issue.path}: ${issue.message}`).join('; ')}`, { issues });
  }
  const query = parsedQuery.data;
  const { auth } = await loadProjectConfig(db, project.id);
  const conditions: SQL[] = [eq(projectUser.tenancyId, project.tenancyId)];
  if (!query.include_restricted) {
    // The same rule as restricted_reason (api/restrictions.ts), as SQL.
    conditions.push(eq(projectUser.isAnonymous, false), eq(projectUser.restrictedByAdmin, false));
    if (auth.requireEmailVerification) conditions.push(sql`coalesce(${contactChannel.isVerified}, false)`);
  }
  if (query.cursor) {
    const after = decodeCursor(query.cursor);
    conditions.push(or(gt(projectUser.signedUpAt, after.signedUpAt), and(eq(projectUser.signedUpAt, after.signedUpAt), gt(projectUser.projectUserId, after.id)))!);
  }
  const rows = await db
    .select({ user: projectUser, email: contactChannel })
    .from(projectUser)
    .leftJoin(contactChannel, primaryEmailOfUser)
    .where(and(...conditions))
    .orderBy(asc(projectUser.signedUpAt), asc(projectUser.projectUserId))
    .limit(query.limit + 1);
  const page = rows.slice(0, query.limit);
  const last = page.at(-1);
  return c.json({
    items: page.map((row) => toUserView(row.user, row.email, auth.requireEmailVerification)),
    pagination: { next_cursor: rows.length > query.limit && last ? encodeCursor(last.user.signedUpAt, last.user.projectUserId) : null },
  });
});
