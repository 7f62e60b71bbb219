import { and, eq } from 'drizzle-orm';
import { contactChannel, projectUser } from '../schema/tables';
import type { Database } from './api-env';
import { restrictedReason, type RestrictedReasonType } from './restrictions';

/** A user as the API returns it (stack-auth's server user shape, the fields this service has). */
export interface UserView {
  id: string;
  display_name: string | null;
  primary_email: string | null;
  primary_email_verified: boolean;
  primary_email_auth_enabled: boolean;
  profile_image_url: string | null;
  signed_up_at_millis: number;
  last_active_at_millis: number;
  client_metadata: unknown;
  client_read_only_metadata: unknown;
  server_metadata: unknown;
  is_anonymous: boolean;
  restricted_by_admin: boolean;
  restricted_by_admin_reason: string | null;
  restricted_by_admin_private_details: string | null;
  is_restricted: boolean;
  restricted_reason: { type: RestrictedReasonType } | null;
}

/** What a client may see of its own user: no server metadata, no private restriction details. */
export type ClientUserView = Omit<UserView, 'server_metadata' | 'restricted_by_admin_private_details'>;

export function clientView(view: UserView): ClientUserView {
  const { server_metadata: _serverMetadata, restricted_by_admin_private_details: _privateDetails, ...visible } = view;
  return visible;
}

/** Join condition: a user's primary EMAIL contact channel (at most one, by a unique index). */
export const primaryEmailOfUser = and(
  eq(contactChannel.tenancyId, projectUser.tenancyId),
  eq(contactChannel.projectUserId, projectUser.projectUserId),
  eq(contactChannel.type, 'EMAIL'),
  eq(contactChannel.isPrimary, 'TRUE'),
);

export async function loadUserView(
  db: Pick<Database, 'select'>,
  tenancyId: string,
  userId: string,
  requireEmailVerification = false,
): Promise<UserView | undefined> {
  const [row] = await db
    .select({ user: projectUser, email: contactChannel })
    .from(projectUser)
    .leftJoin(contactChannel, primaryEmailOfUser)
    .where(and(eq(projectUser.tenancyId, tenancyId), eq(projectUser.projectUserId, userId)))
    .limit(1);
  if (!row) return undefined;
  return toUserView(row.user, row.email, requireEmailVerification);
}

export function toUserView(
  user: typeof projectUser.$inferSelect,
  email: typeof contactChannel.$inferSelect | null,
  requireEmailVerification: boolean,
): UserView {
  const reason = restrictedReason(
    { isAnonymous: user.isAnonymous, primaryEmailVerified: email?.isVerified ?? false, restrictedByAdmin: user.restrictedByAdmin },
    requireEmailVerification,
  );
  return {
    id: user.projectUserId,
    display_name: user.displayName,
    primary_email: email?.value ?? null,
    primary_email_verified: email?.isVerified ?? false,
    primary_email_auth_enabled: email?.usedForAuth === 'TRUE',
    profile_image_url: user.profileImageUrl,
    signed_up_at_millis: user.signedUpAt.getTime(),
    last_active_at_millis: user.lastActiveAt.getTime(),
    client_metadata: user.clientMetadata,
    client_read_only_metadata: user.clientReadOnlyMetadata,
    server_metadata: user.serverMetadata,
    is_anonymous: user.isAnonymous,
    restricted_by_admin: user.restrictedByAdmin,
    restricted_by_admin_reason: user.restrictedByAdminReason,
    restricted_by_admin_private_details: user.restrictedByAdminPrivateDetails,
    is_restricted: reason !== null,
    restricted_reason: reason,
  };
}
