import { drizzle } from 'drizzle-orm/node-postgres';
import type pg from 'pg';
import type { EnvConfig } from '../schema/env-config';
import { SecretBox } from '../schema/secret-box';
import * as authTables from '../schema/auth-tables';
import * as tables from '../schema/tables';
import { requestSnapshot } from '../cdc/snapshotter';
import { snapshotProgress } from '../cdc/snapshot-progress';
import type { TargetAddressPolicy } from '../sinks/target-address-policy';
import { loadTargetAddressPolicy } from '../sinks/target-resolver';
import type { ApiDependencies } from './api-env';
import { AnalyticsQueryRunner } from './analytics/query-runner';
import { OutboxEmailSender } from './auth/email-sender';
import { RateLimiter } from './auth/rate-limiter';
import { SigningKeys } from './auth/signing-keys';
import { compileTrust } from './auth/trusted-proxy';
import { PostgresTestProcessor } from './payments/postgres-test-processor';
import { CompiledRuleCache } from './sign-up-rules/compiled-rule-cache';

export type ApiConfig = Pick<
  EnvConfig,
  | 'STACK_SECRET_KEY'
  | 'STACK_INTERNAL_ADMIN_KEY'
  | 'STACK_API_URL'
  | 'APPLE_JWKS_URL'
  | 'ACCESS_TOKEN_TTL_SECONDS'
  | 'REFRESH_TOKEN_TTL_DAYS'
  | 'PASSWORD_HASH_LOG_N'
  | 'SIGN_IN_RATE_LIMIT_PER_EMAIL'
  | 'SIGN_IN_RATE_LIMIT_PER_IP'
  | 'SIGN_IN_RATE_WINDOW_SECONDS'
  | 'TRUST_PROXY'
  | 'CDC_SLOT'
  | 'CDC_TOPIC_PREFIX'
  | 'DATABASE_URL'
  | 'SINK_ALLOWED_TARGETS'
  | 'SINK_CONFIG_POLL_MS'
>;

/** Builds the API's dependencies from the validated config and the internal database pool. */
export function createApiDependencies(config: ApiConfig, pool: pg.Pool): ApiDependencies {
  const db = drizzle(pool, { schema: { ...tables, ...authTables } });
  const secrets = new SecretBox(config.STACK_SECRET_KEY);
  let policy: Promise<TargetAddressPolicy> | undefined;
  return {
    db,
    secrets,
    internalAdminKey: config.STACK_INTERNAL_ADMIN_KEY,
    auth: {
      apiUrl: config.STACK_API_URL,
      appleJwksUrl: config.APPLE_JWKS_URL,
      accessTokenTtlSeconds: config.ACCESS_TOKEN_TTL_SECONDS,
      refreshTokenTtlDays: config.REFRESH_TOKEN_TTL_DAYS,
      passwordHashLogN: config.PASSWORD_HASH_LOG_N,
      signInLimitPerEmail: config.SIGN_IN_RATE_LIMIT_PER_EMAIL,
      signInLimitPerIp: config.SIGN_IN_RATE_LIMIT_PER_IP,
      signInWindowSeconds: config.SIGN_IN_RATE_WINDOW_SECONDS,
      trustProxy: compileTrust(config.TRUST_PROXY),
    },
    signingKeys: new SigningKeys(db, secrets, config.ACCESS_TOKEN_TTL_SECONDS),
    emailSender: new OutboxEmailSender(db),
    rateLimiter: new RateLimiter(pool),
    signUpRules: new CompiledRuleCache(),
    analytics: new AnalyticsQueryRunner(config.DATABASE_URL),
    paymentProcessor: new PostgresTestProcessor(config.DATABASE_URL),
    targetAddressPolicy: () => (policy ??= loadTargetAddressPolicy(config)),
    requestSnapshot: (tenancyId) => requestSnapshot(pool, config.CDC_SLOT, tenancyId),
    snapshotProgress: (id) => snapshotProgress(pool, id),
    // Sinks report every poll; a few missed polls (a restart, a rebalance) are not yet silence.
    sinkStatusStaleAfterMs: Math.max(10_000, 5 * config.SINK_CONFIG_POLL_MS),
    cdcSlot: config.CDC_SLOT,
    cdcTopicPrefix: config.CDC_TOPIC_PREFIX,
  };
}
