import { eq } from 'drizzle-orm';
import { Hono } from 'hono';
import { z } from 'zod';
import { externalDatabaseIdSchema, externalDatabaseInputSchema, type AuthConfig, type StoredProjectConfig } from '../../schema/project-config';
import { project } from '../../schema/tables';
import type { SecretBox } from '../../schema/secret-box';
import type { ApiEnv } from '../api-env';
import { loadProjectConfig } from '../project-config-store';
import { parseBody } from '../parse-body';
import { requireAccess } from '../project-auth';

const trustedDomain = z.string().regex(/^https?:\/\/(\*\.)?[a-z0-9.-]+(:\d+)?$/i, 'an origin like https://app.example.com or https://*.example.com');

export const configUpdateBody = z.strictObject({
  db_sync: z
    .strictObject({
      /** Replaces the whole set: a database left out stops being synced. */
      external_databases: z.record(externalDatabaseIdSchema, externalDatabaseInputSchema).refine((value) => Object.keys(value).length <= 20, {
        message: 'at most 20 external databases',
      }),
    })
    .optional(),
  /** Each field given replaces the current value; fields left out keep theirs. */
  auth: z
    .strictObject({
      password_enabled: z.boolean(),
      otp_enabled: z.boolean(),
      anonymous_enabled: z.boolean(),
      require_email_verification: z.boolean(),
      link_oauth_by_verified_email: z.boolean(),
      trusted_domains: z.array(trustedDomain).max(50),
      native_app_schemes: z.array(z.string().regex(/^[a-z][a-z0-9+.-]{0,63}$/, 'a URL scheme')).max(20),
      apple: z.strictObject({ enabled: z.boolean(), bundle_ids: z.array(z.string().min(1).max(200)).max(20) }).partial(),
    })
    .partial()
    .optional(),
});

type ConfigUpdate = z.infer<typeof configUpdateBody>;

function withAuthUpdate(current: AuthConfig, update: ConfigUpdate['auth']): AuthConfig {
  if (!update) return current;
  return {
    passwordEnabled: update.password_enabled ?? current.passwordEnabled,
    otpEnabled: update.otp_enabled ?? current.otpEnabled,
    anonymousEnabled: update.anonymous_enabled ?? current.anonymousEnabled,
    requireEmailVerification: update.require_email_verification ?? current.requireEmailVerification,
    linkOAuthByVerifiedEmail: update.link_oauth_by_verified_email ?? current.linkOAuthByVerifiedEmail,
    trustedDomains: update.trusted_domains ?? current.trustedDomains,
    nativeAppSchemes: update.native_app_schemes ?? current.nativeAppSchemes,
    apple: { enabled: update.apple?.enabled ?? current.apple.enabled, bundleIds: update.apple?.bundle_ids ?? current.apple.bundleIds },
  };
}

function authView(auth: AuthConfig): Record<string, unknown> {
  return {
    password_enabled: auth.passwordEnabled,
    otp_enabled: auth.otpEnabled,
    anonymous_enabled: auth.anonymousEnabled,
    require_email_verification: auth.requireEmailVerification,
    link_oauth_by_verified_email: auth.linkOAuthByVerifiedEmail,
    trusted_domains: auth.trustedDomains,
    native_app_schemes: auth.nativeAppSchemes,
    apple: { enabled: auth.apple.enabled, bundle_ids: auth.apple.bundleIds },
  };
}

/** Shows where a connection string points without its password. */
function redact(connectionString: string): string {
  try {
    const url = new URL(connectionString);
    if (url.password) url.password = '********';
    return url.toString();
  } catch {
    return '********';
  }
}

function configView(config: StoredProjectConfig, secrets: SecretBox): Record<string, unknown> {
  const externalDatabases = Object.fromEntries(
    Object.entries(config.dbSync.externalDatabases).map(([id, database]) => [
      id,
      { type: database.type, connection_string: redact(secrets.open(database.encryptedConnectionString)) },
    ]),
  );
  return { db_sync: { external_databases: externalDatabases }, auth: authView(config.auth) };
}

export const projectConfigRoutes = new Hono<ApiEnv>()
  .get('/internal/config', requireAccess('admin'), async (c) => {
    const { db, secrets } = c.get('deps');
    return c.json(configView(await loadProjectConfig(db, c.get('project').id), secrets));
  })
  /** Sets `dbSync.externalDatabases` and auth settings; connection strings are encrypted before they are stored. */
  .patch('/internal/config', requireAccess('admin'), async (c) => {
    const { db, secrets } = c.get('deps');
    const body = await parseBody(c, configUpdateBody);
    const projectId = c.get('project').id;
    const current = await loadProjectConfig(db, projectId);
    const externalDatabases = body.db_sync
      ? Object.fromEntries(
          Object.entries(body.db_sync.external_databases).map(([id, database]) => [
            id,
            { type: database.type, encryptedConnectionString: secrets.seal(database.connection_string) },
          ]),
        )
      : current.dbSync.externalDatabases;
    const next: StoredProjectConfig = { ...current, auth: withAuthUpdate(current.auth, body.auth), dbSync: { ...current.dbSync, externalDatabases } };
    await db.update(project).set({ config: next, updatedAt: new Date() }).where(eq(project.id, projectId));
    return c.json(configView(next, secrets));
  });
