import { randomUUID } from 'node:crypto';
import { and, asc, eq } from 'drizzle-orm';
import type { Context } from 'hono';
import { Hono } from 'hono';
import { z } from 'zod';
import { team, teamMember } from '../../schema/team-tables';
import { ApiError, knownErrors } from '../api-error';
import type { ApiEnv } from '../api-env';
import { readCurrentUser } from '../auth/current-user';
import { emptyBody, parseBody } from '../parse-body';
import { requireAccess } from '../project-auth';
import { findMembership, teamExists, userExists } from '../teams/team-store';

export const createTeamBody = z.strictObject({
  display_name: z.string().min(1).max(200),
  /** Server keys only: a user who becomes the first member, with team_admin. */
  creator_user_id: z.uuid().optional(),
});

export const listTeamsQuery = z.strictObject({
  /** `me` (the signed-in user) or a user id; server keys may leave it out to list every team. */
  user_id: z.union([z.literal('me'), z.uuid()]).optional(),
});

/** The only team permission: it lets a member manage the team and act for it as a customer. */
const teamPermissions = ['team_admin'] as const;

const uuid = z.uuid();

function idOrNotFound(raw: string, notFound: () => ApiError): string {
  if (!uuid.safeParse(raw).success) throw notFound();
  return raw;
}

/** A signed-in user, or 401 USER_AUTHENTICATION_REQUIRED. */
async function signedInUser(c: Context<ApiEnv>): Promise<string> {
  const user = await readCurrentUser(c);
  if (!user) throw knownErrors.userAuthenticationRequired();
  return user.id;
}

/**
 * Lets the request manage the team: any server key of the project (the team must exist in it), a
 * client only as a member holding team_admin — or, when `selfUserId` is the signed-in user, as
 * that member itself (leaving a team needs no permission).
 */
async function requireTeamManager(c: Context<ApiEnv>, teamId: string, selfUserId?: string): Promise<void> {
  const { db } = c.get('deps');
  const { tenancyId, accessType } = c.get('project');
  if (accessType !== 'client') {
    if (!(await teamExists(db, tenancyId, teamId))) throw knownErrors.teamNotFound();
    return;
  }
  const userId = await signedInUser(c);
  const membership = await findMembership(db, tenancyId, teamId, userId);
  if (!membership) throw knownErrors.teamMembershipNotFound();
  if (selfUserId === userId) return;
  if (!membership.isTeamAdmin) throw knownErrors.teamPermissionRequired();
}

function teamView(row: { teamId: string; displayName: string; createdAt: Date }, isTeamAdmin?: boolean): Record<string, unknown> {
  return { id: row.teamId, display_name: row.displayName, created_at_millis: row.createdAt.getTime(), ...(isTeamAdmin !== undefined ? { is_team_admin: isTeamAdmin } : {}) };
}

async function setTeamAdmin(c: Context<ApiEnv>, isTeamAdmin: boolean): Promise<Response> {
  const { db } = c.get('deps');
  const { tenancyId } = c.get('project');
  const teamId = idOrNotFound(c.req.param('teamId') ?? '', knownErrors.teamNotFound);
  const userId = idOrNotFound(c.req.param('userId') ?? '', knownErrors.teamMembershipNotFound);
  if (!(teamPermissions as readonly string[]).includes(c.req.param('permissionId') ?? '')) throw knownErrors.teamPermissionNotFound();
  await requireTeamManager(c, teamId);
  const updated = await db
    .update(teamMember)
    .set({ isTeamAdmin })
    .where(and(eq(teamMember.tenancyId, tenancyId), eq(teamMember.teamId, teamId), eq(teamMember.projectUserId, userId)))
    .returning({ id: teamMember.projectUserId });
  if (updated.length === 0) throw knownErrors.teamMembershipNotFound();
  return c.json({ team_id: teamId, user_id: userId, permission_id: 'team_admin', granted: isTeamAdmin });
}

export const teamRoutes = new Hono<ApiEnv>()
  /** A client's signed-in user becomes the first member, with team_admin. */
  .post('/teams', requireAccess('client', 'server'), async (c) => {
    const { db } = c.get('deps');
    const { tenancyId, accessType } = c.get('project');
    const body = await parseBody(c, createTeamBody);
    let creator: string | undefined;
    if (accessType === 'client') {
      if (body.creator_user_id !== undefined) throw knownErrors.schema('Request validation failed on body — creator_user_id: server keys only', { issues: [{ path: 'creator_user_id', message: 'server keys only' }] });
      creator = await signedInUser(c);
    } else if (body.creator_user_id !== undefined) {
      if (!(await userExists(db, tenancyId, body.creator_user_id))) throw knownErrors.userNotFound();
      creator = body.creator_user_id;
    }
    const teamId = randomUUID();
    const row = await db.transaction(async (tx) => {
      const [created] = await tx.insert(team).values({ tenancyId, teamId, displayName: body.display_name }).returning();
      if (creator) await tx.insert(teamMember).values({ tenancyId, teamId, projectUserId: creator, isTeamAdmin: true });
      return created!;
    });
    return c.json(teamView(row), 201);
  })
  .get('/teams', requireAccess('client', 'server'), async (c) => {
    const { db } = c.get('deps');
    const { tenancyId, accessType } = c.get('project');
    const parsed = listTeamsQuery.safeParse(c.req.query());
    if (!parsed.success) {
      const issues = parsed.error.issues.map((issue) => ({ path: issue.path.join('.') || '(query)', message: issue.message }));
      throw knownErrors.schema(`Request validation failed on query — ${issues.map((issue) => `${issue.path}: ${issue.message}`).join('; ')}`, { issues });
    }
    let userId = parsed.data.user_id;
    if (accessType === 'client') {
      const me = await signedInUser(c);
      if (userId !== undefined && userId !== 'me' && userId !== me) throw knownErrors.customerAccessForbidden('Clients can list only their own user’s teams.');
      userId = me;
    } else if (userId === 'me') {
      userId = await signedInUser(c);
    }
    if (userId === undefined) {
      const rows = await db.select().from(team).where(eq(team.tenancyId, tenancyId)).orderBy(asc(team.createdAt), asc(team.teamId)).limit(1_000);
      return c.json({ items: rows.map((row) => teamView(row)) });
    }
    const rows = await db
      .select({ teamId: team.teamId, displayName: team.displayName, createdAt: team.createdAt, isTeamAdmin: teamMember.isTeamAdmin })
      .from(teamMember)
      .innerJoin(team, and(eq(team.tenancyId, teamMember.tenancyId), eq(team.teamId, teamMember.teamId)))
      .where(and(eq(teamMember.tenancyId, tenancyId), eq(teamMember.projectUserId, userId)))
      .orderBy(asc(team.createdAt), asc(team.teamId));
    return c.json({ items: rows.map((row) => teamView(row, row.isTeamAdmin)) });
  })
  .delete('/teams/:teamId', requireAccess('client', 'server'), async (c) => {
    const { db } = c.get('deps');
    const teamId = idOrNotFound(c.req.param('teamId'), knownErrors.teamNotFound);
    await requireTeamManager(c, teamId);
    // Memberships go with the team (ON DELETE CASCADE); purchases stay: they are financial records.
    await db.delete(team).where(and(eq(team.tenancyId, c.get('project').tenancyId), eq(team.teamId, teamId)));
    return c.json({ success: true });
  })
  .post('/team-memberships/:teamId/:userId', requireAccess('client', 'server'), async (c) => {
    const { db } = c.get('deps');
    const { tenancyId } = c.get('project');
    await parseBody(c, emptyBody);
    const teamId = idOrNotFound(c.req.param('teamId'), knownErrors.teamNotFound);
    const userId = idOrNotFound(c.req.param('userId'), knownErrors.userNotFound);
    await requireTeamManager(c, teamId);
    if (!(await userExists(db, tenancyId, userId))) throw knownErrors.userNotFound();
    await db.insert(teamMember).values({ tenancyId, teamId, projectUserId: userId }).onConflictDoNothing();
    return c.json({ team_id: teamId, user_id: userId }, 201);
  })
  .delete('/team-memberships/:teamId/:userId', requireAccess('client', 'server'), async (c) => {
    const { db } = c.get('deps');
    const teamId = idOrNotFound(c.req.param('teamId'), knownErrors.teamNotFound);
    const userId = idOrNotFound(c.req.param('userId'), knownErrors.teamMembershipNotFound);
    await requireTeamManager(c, teamId, userId);
    const deleted = await db
      .delete(teamMember)
      .where(and(eq(teamMember.tenancyId, c.get('project').tenancyId), eq(teamMember.teamId, teamId), eq(teamMember.projectUserId, userId)))
      .returning({ id: teamMember.projectUserId });
    if (deleted.length === 0) throw knownErrors.teamMembershipNotFound();
    return c.json({ success: true });
  })
  .post('/team-permissions/:teamId/:userId/:permissionId', requireAccess('client', 'server'), async (c) => {
    await parseBody(c, emptyBody);
    return setTeamAdmin(c, true);
  })
  .delete('/team-permissions/:teamId/:userId/:permissionId', requireAccess('client', 'server'), async (c) => setTeamAdmin(c, false));
