import { boolean, foreignKey, index, pgTable, primaryKey, text, timestamp, uuid } from 'drizzle-orm/pg-core';
import { projectUser, tenancy } from './tables';

const instant = (name: string) => timestamp(name, { precision: 3, mode: 'date' });

/** A team of a tenancy's users (DESIGN.md "Teams, payments and refunds"); goes away with its tenancy. */
export const team = pgTable(
  'Team',
  {
    tenancyId: uuid('tenancyId').notNull(),
    teamId: uuid('teamId').notNull(),
    displayName: text('displayName').notNull(),
    createdAt: instant('createdAt').notNull().defaultNow(),
  },
  (table) => [
    primaryKey({ name: 'Team_pkey', columns: [table.tenancyId, table.teamId] }),
    foreignKey({ name: 'Team_tenancyId_fkey', columns: [table.tenancyId], foreignColumns: [tenancy.id] }).onDelete('cascade'),
  ],
);

/**
 * A user's membership of a team. A deleted user leaves its teams (ON DELETE CASCADE from
 * ProjectUser); `isTeamAdmin` is the `team_admin` permission: it lets the member act for the team.
 */
export const teamMember = pgTable(
  'TeamMember',
  {
    tenancyId: uuid('tenancyId').notNull(),
    teamId: uuid('teamId').notNull(),
    projectUserId: uuid('projectUserId').notNull(),
    isTeamAdmin: boolean('isTeamAdmin').notNull().default(false),
    createdAt: instant('createdAt').notNull().defaultNow(),
  },
  (table) => [
    primaryKey({ name: 'TeamMember_pkey', columns: [table.tenancyId, table.teamId, table.projectUserId] }),
    foreignKey({ name: 'TeamMember_team_fkey', columns: [table.tenancyId, table.teamId], foreignColumns: [team.tenancyId, team.teamId] }).onDelete('cascade'),
    foreignKey({
      name: 'TeamMember_projectUser_fkey',
      columns: [table.tenancyId, table.projectUserId],
      foreignColumns: [projectUser.tenancyId, projectUser.projectUserId],
    }).onDelete('cascade'),
    // "The teams of a user" reads memberships by user.
    index('TeamMember_user_idx').on(table.tenancyId, table.projectUserId),
  ],
);
