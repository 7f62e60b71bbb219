import { z } from 'zod';

/** Metadata is a JSON object, at most 64 KB once serialised. */
const metadata = z
  .record(z.string(), z.json())
  .refine((value) => JSON.stringify(value).length <= 65_536, { message: 'metadata is larger than 64 KB' });

const userFields = {
  display_name: z.string().max(1_000).nullable(),
  profile_image_url: z.url({ protocol: /^https?$/ }).max(2_000).nullable(),
  primary_email: z.email().max(254).nullable(),
  primary_email_verified: z.boolean(),
  /** Whether the primary email may be used to sign in (unique within the project when true). */
  primary_email_auth_enabled: z.boolean(),
  client_metadata: metadata.nullable(),
  client_read_only_metadata: metadata.nullable(),
  server_metadata: metadata.nullable(),
};

export const createUserBody = z.strictObject({
  ...z.object(userFields).partial().shape,
  is_anonymous: z.boolean().optional(),
});

const restrictionFields = {
  restricted_by_admin: z.boolean(),
  /** Shown to the user. */
  restricted_by_admin_reason: z.string().max(1_000).nullable(),
  /** Seen by the server only. */
  restricted_by_admin_private_details: z.string().max(5_000).nullable(),
};

/** A reason or details only make sense on a restricted user (the DB CHECK says the same). */
export const updateUserBody = z.strictObject({ ...z.object(userFields).partial().shape, ...z.object(restrictionFields).partial().shape }).superRefine((body, ctx) => {
  if (body.restricted_by_admin === true) return;
  for (const field of ['restricted_by_admin_reason', 'restricted_by_admin_private_details'] as const) {
    if (body[field] !== undefined && body[field] !== null) {
      ctx.addIssue({ code: 'custom', path: [field], message: 'may only be set together with restricted_by_admin: true' });
    }
  }
});

/** What a signed-in user may change about themselves. */
export const updateOwnUserBody = z.strictObject({
  display_name: userFields.display_name.optional(),
  profile_image_url: userFields.profile_image_url.optional(),
  client_metadata: userFields.client_metadata.optional(),
});

export const listUsersQuery = z.strictObject({
  limit: z.coerce.number().int().min(1).max(200).default(50),
  cursor: z.string().max(200).optional(),
  include_restricted: z.enum(['true', 'false']).default('false').transform((value) => value === 'true'),
});

export type CreateUserBody = z.infer<typeof createUserBody>;
export type UpdateUserBody = z.infer<typeof updateUserBody>;
