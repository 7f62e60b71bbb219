import { eq } from 'drizzle-orm';
import { Hono } from 'hono';
import { z } from 'zod';
import { externalDatabaseIdSchema, externalDatabaseInputSchema, type AuthConfig, type StoredProjectConfig } from '../../schema/project-config';
import { project } from '../../schema/tables';
import type { SecretBox } from '../../schema/secret-box';
import { parseConnectionString } from '../../schema/external-connection';
import { connectionView } from '../external-database-view';
import type { TargetAddressPolicy } from '../../sinks/target-address-policy';
import { resolveTarget, TargetNotAllowedError } from '../../sinks/target-resolver';
import { knownErrors } from '../api-error';
import type { ApiEnv } from '../api-env';
import { loadProjectConfig } from '../project-config-store';
import { parseBody } from '../parse-body';
import { requireAccess } from '../project-auth';
import { signUpRulesInput, signUpRulesView, storedSignUpRules } from '../sign-up-rules/rule-input';
import { signUpRulesDefaultActions } from '../../schema/sign-up-rule-config';
import { catalogueIssues, paymentsInput, paymentsView, withPaymentsUpdate } from '../payments/catalogue-input';

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
      /** Replaces the whole set; each condition must compile (CEL). */
      sign_up_rules: signUpRulesInput,
      sign_up_rules_default_action: z.enum(signUpRulesDefaultActions),
    })
    .partial()
    .optional(),
  /** Items and products on sale; prices are USD decimal strings ("12.50"). */
  payments: paymentsInput.optional(),
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
    signUpRules: update.sign_up_rules ? storedSignUpRules(update.sign_up_rules) : current.signUpRules,
    signUpRulesDefaultAction: update.sign_up_rules_default_action ?? current.signUpRulesDefaultAction,
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
    // In evaluation order: priority descending, then id.
    sign_up_rules: signUpRulesView(auth.signUpRules),
    sign_up_rules_default_action: auth.signUpRulesDefaultAction,
  };
}

/**
 * An external database as the API shows it: where the sink really connects (host, port, database,
 * user) and the connection string rebuilt from those, password masked. A stored string that is no
 * longer accepted shows why instead.
 */
function externalDatabaseView(database: StoredProjectConfig['dbSync']['externalDatabases'][string], secrets: SecretBox): Record<string, unknown> {
  const view = connectionView(database, secrets);
  if ('problem' in view) return { type: database.type, connection_string: null, error: view.problem.message };
  return { type: database.type, ...view.connection };
}

function configView(config: StoredProjectConfig, secrets: SecretBox): Record<string, unknown> {
  const externalDatabases = Object.fromEntries(Object.entries(config.dbSync.externalDatabases).map(([id, database]) => [id, externalDatabaseView(database, secrets)]));
  return { db_sync: { external_databases: externalDatabases }, auth: authView(config.auth), payments: paymentsView(config.payments) };
}

/**
 * Refuses, when saved, a database whose host resolves to an address the sink would refuse
 * (loopback, private ranges, our internal database…). A name that does not resolve now is
 * accepted: the sink judges every address again right before each connect.
 */
async function refuseForbiddenHosts(databases: Record<string, { connection_string: string }>, policy: TargetAddressPolicy): Promise<void> {
  await Promise.all(
    Object.entries(databases).map(async ([id, database]) => {
      const parsed = parseConnectionString(database.connection_string);
      if (!parsed.ok) return;
      try {
        await resolveTarget(parsed.connection, policy, 2_000);
      } catch (error: unknown) {
        if (error instanceof TargetNotAllowedError) throw knownErrors.externalDatabaseNotAllowed(id);
      }
    }),
  );
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
    if (body.db_sync) await refuseForbiddenHosts(body.db_sync.external_databases, await c.get('deps').targetAddressPolicy());
    const current = await loadProjectConfig(db, projectId);
    const externalDatabases = body.db_sync
      ? Object.fromEntries(
          Object.entries(body.db_sync.external_databases).map(([id, database]) => [
            id,
            { type: database.type, encryptedConnectionString: secrets.seal(database.connection_string) },
          ]),
        )
      : current.dbSync.externalDatabases;
    const payments = withPaymentsUpdate(current.payments, body.payments);
    const issues = catalogueIssues(payments);
    if (issues.length > 0) {
      throw knownErrors.schema(`Request validation failed on body — ${issues.map((issue) => `${issue.path}: ${issue.message}`).join('; ')}`, { issues });
    }
    const next: StoredProjectConfig = { ...current, auth: withAuthUpdate(current.auth, body.auth), dbSync: { ...current.dbSync, externalDatabases }, payments };
    await db.update(project).set({ config: next, updatedAt: new Date() }).where(eq(project.id, projectId));
    return c.json(configView(next, secrets));
  });
