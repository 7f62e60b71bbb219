import type { NodePgDatabase } from 'drizzle-orm/node-postgres';
import type { SecretBox } from '../schema/secret-box';
import type * as tables from '../schema/tables';
import type * as authTables from '../schema/auth-tables';
import type { TargetAddressPolicy } from '../sinks/target-address-policy';
import type { AnalyticsQueryRunner } from './analytics/query-runner';
import type { EmailSender } from './auth/email-sender';
import type { RateLimiter } from './auth/rate-limiter';
import type { SigningKeys } from './auth/signing-keys';
import type { TrustFunction } from './auth/trusted-proxy';
import type { PaymentProcessor } from './payments/payment-processor';
import type { CompiledRuleCache } from './sign-up-rules/compiled-rule-cache';
import type { SnapshotProgress } from '../cdc/snapshot-progress';

export type AccessType = 'client' | 'server' | 'admin';

export type Database = NodePgDatabase<typeof tables & typeof authTables>;

export interface AuthSettings {
  /** Public base URL of the API (token issuer). */
  apiUrl: string;
  appleJwksUrl: string;
  accessTokenTtlSeconds: number;
  refreshTokenTtlDays: number;
  passwordHashLogN: number;
  /** Attempts allowed per named address, and per client IP, in each window (api/auth/attempt-limits.ts). */
  signInLimitPerEmail: number;
  signInLimitPerIp: number;
  signInWindowSeconds: number;
  /** Which proxies may report the client address in X-Forwarded-For (TRUST_PROXY). */
  trustProxy: TrustFunction;
}

/** What the routes need from the process: injected, so tests build the app around their own database. */
export interface ApiDependencies {
  db: Database;
  secrets: SecretBox;
  /** Credential that may create projects (STACK_INTERNAL_ADMIN_KEY). */
  internalAdminKey: string;
  auth: AuthSettings;
  signingKeys: SigningKeys;
  emailSender: EmailSender;
  rateLimiter: RateLimiter;
  /** Each project's sign-up rules, compiled once per version of them. */
  signUpRules: CompiledRuleCache;
  /** Runs admins' analytics queries on connections of its own; `close()` it with the API. */
  analytics: AnalyticsQueryRunner;
  /** Charges and refunds purchases (the built-in test processor); `close()` it with the API. */
  paymentProcessor: PaymentProcessor;
  /** Asks the cdc reader for a snapshot of one tenancy, or of all (null) (re-publishes their rows as `r` events); returns the request id. */
  requestSnapshot(tenancyId: string | null): Promise<string>;
  /** How far a snapshot request got, in rows (undefined: no such request). */
  snapshotProgress(id: string): Promise<SnapshotProgress | undefined>;
  /** Where tenants' external databases may be (the sink's own rule, checked again when a config is saved). */
  targetAddressPolicy(): Promise<TargetAddressPolicy>;
  /** A sink's report older than this means no sink process serves that database now, in ms. */
  sinkStatusStaleAfterMs: number;
  /** The cdc reader's replication slot (CDC_SLOT), for the status API's global figures. */
  cdcSlot: string;
  /** Tenant topics are `<prefix>.<tenancyId>`. */
  cdcTopicPrefix: string;
}

/** The project a request is authenticated for. */
export interface RequestProject {
  id: string;
  tenancyId: string;
  accessType: AccessType;
}

/** The signed-in user of a request, from a verified access token of a live session. */
export interface CurrentUser {
  id: string;
  sessionId: string;
  isAnonymous: boolean;
}

export interface ApiEnv {
  Variables: {
    deps: ApiDependencies;
    project: RequestProject;
    user: CurrentUser;
    /** On operator routes: who called (api/operator-auth.ts). */
    operator: 'project-admin' | 'internal-admin';
  };
}
