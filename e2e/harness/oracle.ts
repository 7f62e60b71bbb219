import type pg from 'pg';
import { waitFor } from '../../infra/wait-for';
import { withClient } from './test-services';

/**
 * The convergence oracle: what an external database of a tenancy must hold, computed with SQL over
 * the internal tables straight from DESIGN.md's mapping (primary_email is the EMAIL channel with
 * "isPrimary", signed_up_at is "createdAt", and so on), independently of the sink's code.
 */
export interface ExternalState {
  users: Record<string, string | null>[];
  contact_channels: Record<string, string | null>[];
}

// Every column as text in one canonical form, so the two sides compare as strings.
const iso = (column: string) => `to_char(${column}, 'YYYY-MM-DD"T"HH24:MI:SS.MS')`;

const expectedUsersSql = `
  SELECT pu."projectUserId"::text AS id,
         pu."displayName" AS display_name,
         pu."profileImageUrl" AS profile_image_url,
         cc.value AS primary_email,
         coalesce(cc."isVerified", false)::text AS primary_email_verified,
         ${iso('pu."createdAt"')} AS signed_up_at,
         coalesce(pu."clientMetadata", '{}'::jsonb)::text AS client_metadata,
         coalesce(pu."clientReadOnlyMetadata", '{}'::jsonb)::text AS client_read_only_metadata,
         coalesce(pu."serverMetadata", '{}'::jsonb)::text AS server_metadata,
         pu."isAnonymous"::text AS is_anonymous,
         pu."restrictedByAdmin"::text AS restricted_by_admin
    FROM "ProjectUser" pu
    LEFT JOIN "ContactChannel" cc
      ON cc."tenancyId" = pu."tenancyId" AND cc."projectUserId" = pu."projectUserId" AND cc.type = 'EMAIL' AND cc."isPrimary" = 'TRUE'
   WHERE pu."tenancyId" = $1
   ORDER BY 1`;

const expectedChannelsSql = `
  SELECT id::text AS id, "projectUserId"::text AS user_id, type::text AS type, value,
         ("isPrimary" IS NOT NULL)::text AS is_primary, "isVerified"::text AS is_verified, ("usedForAuth" IS NOT NULL)::text AS used_for_auth
    FROM "ContactChannel" WHERE "tenancyId" = $1 ORDER BY 1`;

const actualUsersSql = `
  SELECT id::text AS id, display_name, profile_image_url, primary_email, primary_email_verified::text AS primary_email_verified,
         ${iso('signed_up_at')} AS signed_up_at, client_metadata::text AS client_metadata,
         client_read_only_metadata::text AS client_read_only_metadata, server_metadata::text AS server_metadata,
         is_anonymous::text AS is_anonymous, restricted_by_admin::text AS restricted_by_admin
    FROM users ORDER BY 1`;

const actualChannelsSql = `
  SELECT id::text AS id, user_id::text AS user_id, type, value, is_primary::text AS is_primary, is_verified::text AS is_verified, used_for_auth::text AS used_for_auth
    FROM contact_channels ORDER BY 1`;

export async function expectedState(internal: pg.Pool, tenancyId: string): Promise<ExternalState> {
  const [users, channels] = await Promise.all([internal.query(expectedUsersSql, [tenancyId]), internal.query(expectedChannelsSql, [tenancyId])]);
  return { users: users.rows, contact_channels: channels.rows };
}

export async function actualState(externalUrl: string): Promise<ExternalState> {
  return withClient(externalUrl, async (client) => {
    const users = await client.query(actualUsersSql);
    const channels = await client.query(actualChannelsSql);
    return { users: users.rows, contact_channels: channels.rows };
  });
}

/** Row-by-row, column-by-column differences, for a failure message a person can act on. */
export function describeDifferences(expected: ExternalState, actual: ExternalState, limit = 10): string[] {
  const differences: string[] = [];
  for (const table of ['users', 'contact_channels'] as const) {
    const want = new Map(expected[table].map((row) => [row.id, row]));
    const have = new Map(actual[table].map((row) => [row.id, row]));
    for (const [id, row] of want) {
      const found = have.get(id);
      if (!found) differences.push(`${table} ${id}: missing`);
      else for (const [column, value] of Object.entries(row)) if (found[column] !== value) differences.push(`${table} ${id}.${column}: want ${JSON.stringify(value)}, have ${JSON.stringify(found[column])}`);
    }
    for (const id of have.keys()) if (!want.has(id)) differences.push(`${table} ${id}: should not exist`);
  }
  return differences.slice(0, limit);
}

/** Polls until the external database equals the oracle for the tenancy, or fails with the differences. */
export async function expectConverged(internal: pg.Pool, tenancyId: string, externalUrl: string, timeoutMs = 30_000): Promise<ExternalState> {
  let differences: string[] = [];
  let state: ExternalState = { users: [], contact_channels: [] };
  try {
    await waitFor(
      'the external database to equal the oracle',
      async () => {
        const [expected, actual] = await Promise.all([expectedState(internal, tenancyId), actualState(externalUrl).catch(() => ({ users: [], contact_channels: [] }))]);
        differences = describeDifferences(expected, actual);
        state = expected;
        return differences.length === 0;
      },
      { timeoutMs, intervalMs: 200 },
    );
  } catch {
    throw new Error(`external database did not converge in ${timeoutMs} ms:\n${differences.join('\n')}`);
  }
  return state;
}
