import { z } from 'zod';

/** An external database as an API client sends it (the connection string in clear). */
export const externalDatabaseInputSchema = z.strictObject({
  type: z.literal('postgres'),
  connection_string: z
    .string()
    .max(2_000)
    .regex(/^postgres(ql)?:\/\//, 'must be a postgres:// or postgresql:// URL'),
});

/** External database ids become consumer-group and metadata names: keep them simple. */
export const externalDatabaseIdSchema = z.string().regex(/^[A-Za-z0-9_-]{1,64}$/, 'letters, digits, _ and - (at most 64)');

/** Project config as stored in "Project".config. Connection strings are encrypted at rest (api/secret-box.ts). */
export const storedProjectConfigSchema = z.object({
  dbSync: z
    .object({
      externalDatabases: z
        .record(
          externalDatabaseIdSchema,
          z.object({
            type: z.literal('postgres'),
            /** `v1.<iv>.<tag>.<ciphertext>`, base64url, AES-256-GCM under STACK_SECRET_KEY. */
            encryptedConnectionString: z.string(),
          }),
        )
        .default({}),
    })
    .default({ externalDatabases: {} }),
});

export type StoredProjectConfig = z.infer<typeof storedProjectConfigSchema>;
