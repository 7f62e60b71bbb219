import { parseConnectionString } from './external-connection';
import { z } from 'zod';
import { paymentsConfigSchema } from './payment-config';
import { signUpRulesDefaultActions, storedSignUpRulesSchema } from './sign-up-rule-config';

/**
 * An external database as an API client sends it (the connection string in clear). Only a plain
 * `postgres://user[:password]@host[:port]/database` with a few parameters is accepted (see
 * schema/external-connection.ts): no socket paths, no file names, no host overrides.
 */
export const externalDatabaseInputSchema = z.strictObject({
  type: z.literal('postgres'),
  connection_string: z
    .string()
    .max(2_000)
    .superRefine((value, context) => {
      const parsed = parseConnectionString(value);
      if (!parsed.ok) context.addIssue({ code: 'custom', message: parsed.problem });
    }),
});

/** External database ids become consumer-group and metadata names: keep them simple. */
export const externalDatabaseIdSchema = z.string().regex(/^[A-Za-z0-9_-]{1,64}$/, 'letters, digits, _ and - (at most 64)');

/** How users of a project may sign in. */
export const authConfigSchema = z.object({
  passwordEnabled: z.boolean().default(true),
  otpEnabled: z.boolean().default(true),
  anonymousEnabled: z.boolean().default(true),
  /** When true, a user whose primary email is not verified is restricted (restricted_reason email_not_verified). */
  requireEmailVerification: z.boolean().default(false),
  apple: z
    .object({
      enabled: z.boolean().default(false),
      /** Audiences accepted in Apple id tokens: the project's iOS/macOS bundle ids. */
      bundleIds: z.array(z.string()).default([]),
    })
    .default({ enabled: false, bundleIds: [] }),
  /** Sign an OAuth user into an existing account that has the same, verified, email. */
  linkOAuthByVerifiedEmail: z.boolean().default(false),
  /** Origins that callback and redirect URLs may point at, e.g. `https://app.example.com`, `https://*.example.com`. */
  trustedDomains: z.array(z.string()).default([]),
  /** Custom URL schemes of the project's native apps (e.g. `myapp`), accepted only as OAuth redirect URIs. */
  nativeAppSchemes: z.array(z.string()).default([]),
  /** Evaluated on every sign-up (api/sign-up-rules/): reject, restrict or log by a CEL condition. */
  signUpRules: storedSignUpRulesSchema.default({}),
  /** What a sign-up that no allow or reject rule decided gets. */
  signUpRulesDefaultAction: z.enum(signUpRulesDefaultActions).default('allow'),
});

export type AuthConfig = z.infer<typeof authConfigSchema>;

/** Project config as stored in "Project".config. Connection strings are encrypted at rest (schema/secret-box.ts). */
export const storedProjectConfigSchema = z.object({
  auth: authConfigSchema.default(authConfigSchema.parse({})),
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
  /** Items and products sold to the project's customers (schema/payment-config.ts). */
  payments: paymentsConfigSchema.default(paymentsConfigSchema.parse({})),
});

export type StoredProjectConfig = z.infer<typeof storedProjectConfigSchema>;
