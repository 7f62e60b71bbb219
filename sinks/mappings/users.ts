import type { ChangeEvent } from '../../schema/change-event';
import { jsonOrEmptyObject, requireString, sourceRow, type Mapping, type RowOperation } from '../mapping';

/**
 * `users`: one row per "ProjectUser" of the tenancy. `primary_email` and `primary_email_verified`
 * come from the user's primary EMAIL contact channel; they are derived after each batch from the
 * mirrored `contact_channels` table (see postgres-target.ts), because the channel and the user
 * change in different events.
 */
export const usersMapping: Mapping = {
  name: 'users',
  sourceTable: 'ProjectUser',
  table: 'users',
  columns: [
    'id',
    'display_name',
    'profile_image_url',
    'signed_up_at',
    'client_metadata',
    'client_read_only_metadata',
    'server_metadata',
    'is_anonymous',
    'restricted_by_admin',
  ],
  jsonColumns: ['client_metadata', 'client_read_only_metadata', 'server_metadata'],
  ddl: `CREATE TABLE IF NOT EXISTS users (
    id uuid PRIMARY KEY,
    display_name text,
    profile_image_url text,
    primary_email text,
    primary_email_verified boolean NOT NULL DEFAULT false,
    signed_up_at timestamp NOT NULL,
    client_metadata jsonb NOT NULL DEFAULT '{}',
    client_read_only_metadata jsonb NOT NULL DEFAULT '{}',
    server_metadata jsonb NOT NULL DEFAULT '{}',
    is_anonymous boolean NOT NULL DEFAULT false,
    restricted_by_admin boolean NOT NULL DEFAULT false
  );
  -- Added after the first release: databases created before it get the column here.
  ALTER TABLE users ADD COLUMN IF NOT EXISTS restricted_by_admin boolean NOT NULL DEFAULT false`,
  map(event: ChangeEvent): RowOperation[] {
    if (event.source.table !== this.sourceTable) return [];
    const row = sourceRow(event);
    const id = requireString(row, 'projectUserId');
    if (event.op === 'd') return [{ kind: 'delete', table: 'users', id }];
    return [
      {
        kind: 'upsert',
        table: 'users',
        id,
        row: {
          id,
          display_name: (row.displayName as string | null | undefined) ?? null,
          profile_image_url: (row.profileImageUrl as string | null | undefined) ?? null,
          // DESIGN.md: signed_up_at is "ProjectUser"."createdAt".
          signed_up_at: requireString(row, 'createdAt'),
          client_metadata: jsonOrEmptyObject(row.clientMetadata),
          client_read_only_metadata: jsonOrEmptyObject(row.clientReadOnlyMetadata),
          server_metadata: jsonOrEmptyObject(row.serverMetadata),
          is_anonymous: row.isAnonymous === true,
          restricted_by_admin: row.restrictedByAdmin === true,
        },
      },
    ];
  },
};
