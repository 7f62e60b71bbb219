import { and, eq } from 'drizzle-orm';
import { team, teamMember } from '../../schema/team-tables';
import { projectUser } from '../../schema/tables';
import type { Database } from '../api-env';

type Reader = Pick<Database, 'select'>;

/** A user's membership of a team of the tenancy, or undefined. */
export async function findMembership(db: Reader, tenancyId: string, teamId: string, userId: string): Promise<{ isTeamAdmin: boolean } | undefined> {
  const [row] = await db
    .select({ isTeamAdmin: teamMember.isTeamAdmin })
    .from(teamMember)
    .where(and(eq(teamMember.tenancyId, tenancyId), eq(teamMember.teamId, teamId), eq(teamMember.projectUserId, userId)));
  return row;
}

export async function teamExists(db: Reader, tenancyId: string, teamId: string): Promise<boolean> {
  const rows = await db.select({ id: team.teamId }).from(team).where(and(eq(team.tenancyId, tenancyId), eq(team.teamId, teamId)));
  return rows.length > 0;
}

export async function userExists(db: Reader, tenancyId: string, userId: string): Promise<boolean> {
  const rows = await db
    .select({ id: projectUser.projectUserId })
    .from(projectUser)
    .where(and(eq(projectUser.tenancyId, tenancyId), eq(projectUser.projectUserId, userId)));
  return rows.length > 0;
}
