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

export const updateUserBody = z.strictObject(z.object(userFields).partial().shape);

export type CreateUserBody = z.infer<typeof createUserBody>;
export type UpdateUserBody = z.infer<typeof updateUserBody>;
