import type { z } from 'zod';
import type { AccessType } from './api-env';
import { analyticsQueryBody, analyticsTimingBody } from './routes/analytics';
import { appleNativeBody } from './routes/auth-apple';
import { otpSendCodeBody, otpSignInBody } from './routes/auth-otp';
import { passwordSignInBody, passwordSignUpBody } from './routes/auth-password';
import { createContactChannelBody, updateContactChannelBody } from './routes/contact-channels';
import { configUpdateBody } from './routes/project-config';
import { createProjectBody } from './routes/projects';
import { evaluateSignUpRulesBody } from './routes/sign-up-rules';
import { resnapshotBody, syncStatusQuery } from './routes/sync-status';
import { fuseboxUpdateBody } from '../schema/fusebox';
import { emptyBody } from './parse-body';
import { completeTestPurchaseBody, createPurchaseUrlBody, grantProductBody } from './routes/payments';
import { testProcessorFaultBody } from './routes/payments-admin';
import { createTeamBody, listTeamsQuery } from './routes/teams';
import { refundBody } from './payments/refund-service';
import { listTransactionsQuery } from './payments/transaction-list';
import { createUserBody, listUsersQuery, updateOwnUserBody, updateUserBody } from './routes/user-body';

/** Who may call a route: project access types, the internal admin key, or anyone. */
export type RouteAccess = readonly AccessType[] | 'internal-admin-key' | 'public';

export interface RouteDoc {
  method: 'get' | 'post' | 'patch' | 'delete';
  /** Below /api/v1, OpenAPI style: `{userId}`. */
  path: string;
  summary: string;
  access: RouteAccess;
  body?: z.ZodType;
  query?: z.ZodType;
  /** Needs a signed-in user's access token. */
  user?: true;
}

/**
 * Every route of the API with its zod schemas: the source of the OpenAPI document, and the list
 * the hostile-input tests walk. A test keeps it equal to the routes the app really serves.
 */
export const routeCatalog: readonly RouteDoc[] = [
  { method: 'post', path: '/internal/projects', summary: 'Create a project and its keys', access: 'internal-admin-key', body: createProjectBody },
  { method: 'get', path: '/internal/projects/current', summary: 'The authenticated project', access: ['admin'] },
  { method: 'get', path: '/internal/config', summary: 'Project config (secrets redacted)', access: ['admin'] },
  { method: 'patch', path: '/internal/config', summary: 'Update project config', access: ['admin'], body: configUpdateBody },
  { method: 'get', path: '/internal/db-sync/status', summary: 'External database sync status: lag, backlog, errors, rebuilds (the internal admin key with ?scope=all: every tenancy and global figures)', access: ['admin'], query: syncStatusQuery },
  { method: 'get', path: '/internal/db-sync/fusebox', summary: 'Kill switches: global ones, the project’s, its databases’ (the internal admin key: every stored switch)', access: ['admin'] },
  { method: 'post', path: '/internal/db-sync/fusebox', summary: 'Set kill switches: global ones with the internal admin key, the project’s with its admin key', access: ['admin'], body: fuseboxUpdateBody },
  { method: 'post', path: '/internal/db-sync/external-databases/{databaseId}/pause', summary: 'Pause one external database (it keeps its position)', access: ['admin'], body: emptyBody },
  { method: 'post', path: '/internal/db-sync/external-databases/{databaseId}/resume', summary: 'Resume one external database (it catches up from its position)', access: ['admin'], body: emptyBody },
  { method: 'post', path: '/internal/db-sync/external-databases/{databaseId}/rebuild', summary: 'Empty one external database’s mapped tables and refill them from the topic and a re-snapshot', access: ['admin'], body: emptyBody },
  { method: 'get', path: '/internal/db-sync/external-databases/{databaseId}/rebuild', summary: 'Progress of the latest rebuild of one external database', access: ['admin'] },
  { method: 'post', path: '/internal/db-sync/resnapshot', summary: 'Re-publish the tenancy’s rows (snapshot) to its topic while streaming goes on (the internal admin key: any tenancy, or all)', access: ['admin'], body: resnapshotBody },
  { method: 'get', path: '/internal/db-sync/resnapshot/{snapshotId}', summary: 'Progress of a snapshot request, in rows', access: ['admin'] },
  { method: 'get', path: '/internal/sign-up-rules-stats', summary: 'Sign-up rule triggers per rule and UTC hour, last 48 hours', access: ['admin'] },
  { method: 'post', path: '/internal/sign-up-rules/evaluate', summary: 'Dry run: what the sign-up rules (saved or a draft) decide for a hypothetical sign-up, rule by rule', access: ['admin'], body: evaluateSignUpRulesBody },
  { method: 'get', path: '/internal/emails', summary: 'Recent emails in the development outbox', access: ['admin'] },
  { method: 'post', path: '/internal/analytics/query', summary: 'Run a read-only SQL query over the project’s own events', access: ['admin'], body: analyticsQueryBody },
  { method: 'post', path: '/internal/analytics/query/timing', summary: 'Wall-clock and Postgres execution time of an earlier analytics query', access: ['server', 'admin'], body: analyticsTimingBody },
  { method: 'post', path: '/internal/signing-keys/rotate', summary: 'Rotate the access-token signing key', access: ['admin'], body: emptyBody },
  { method: 'get', path: '/projects/{projectId}/.well-known/jwks.json', summary: 'Public keys of the project’s access tokens', access: 'public' },
  { method: 'post', path: '/auth/password/sign-up', summary: 'Sign up with email and password', access: ['client', 'server'], body: passwordSignUpBody },
  { method: 'post', path: '/auth/password/sign-in', summary: 'Sign in with email and password', access: ['client', 'server'], body: passwordSignInBody },
  { method: 'post', path: '/auth/anonymous/sign-up', summary: 'Create an anonymous user', access: ['client', 'server'], body: emptyBody },
  { method: 'post', path: '/auth/otp/send-sign-in-code', summary: 'Email a sign-in code', access: ['client', 'server'], body: otpSendCodeBody },
  { method: 'post', path: '/auth/otp/sign-in', summary: 'Sign in with an emailed code', access: ['client', 'server'], body: otpSignInBody },
  { method: 'post', path: '/auth/oauth/callback/apple/native', summary: 'Sign in with an Apple id token', access: ['client', 'server'], body: appleNativeBody },
  { method: 'post', path: '/auth/sessions/current/refresh', summary: 'Rotate the refresh token (x-stack-refresh-token)', access: ['client', 'server'], body: emptyBody },
  { method: 'delete', path: '/auth/sessions/current', summary: 'Sign out', access: ['client', 'server'], user: true },
  { method: 'get', path: '/users/me', summary: 'The signed-in user', access: ['client', 'server'], user: true },
  { method: 'patch', path: '/users/me', summary: 'Update the signed-in user', access: ['client', 'server'], user: true, body: updateOwnUserBody },
  { method: 'get', path: '/users', summary: 'List users', access: ['server'], query: listUsersQuery },
  { method: 'post', path: '/users', summary: 'Create a user', access: ['server'], body: createUserBody },
  { method: 'get', path: '/users/{userId}', summary: 'Read a user', access: ['server'] },
  { method: 'patch', path: '/users/{userId}', summary: 'Update a user, including restrictions', access: ['server'], body: updateUserBody },
  { method: 'delete', path: '/users/{userId}', summary: 'Delete a user', access: ['server'] },
  { method: 'post', path: '/contact-channels', summary: 'Add a contact channel', access: ['client', 'server'], body: createContactChannelBody },
  { method: 'get', path: '/contact-channels', summary: 'List a user’s contact channels', access: ['client', 'server'] },
  { method: 'patch', path: '/contact-channels/{userId}/{channelId}', summary: 'Update a contact channel', access: ['client', 'server'], body: updateContactChannelBody },
  { method: 'delete', path: '/contact-channels/{userId}/{channelId}', summary: 'Delete a contact channel', access: ['client', 'server'] },
  { method: 'post', path: '/teams', summary: 'Create a team (a client’s signed-in user becomes its member with team_admin)', access: ['client', 'server'], body: createTeamBody },
  { method: 'get', path: '/teams', summary: 'List a user’s teams (server: every team without user_id)', access: ['client', 'server'], query: listTeamsQuery },
  { method: 'delete', path: '/teams/{teamId}', summary: 'Delete a team (client: team_admin)', access: ['client', 'server'] },
  { method: 'post', path: '/team-memberships/{teamId}/{userId}', summary: 'Add a member (client: team_admin)', access: ['client', 'server'], body: emptyBody },
  { method: 'delete', path: '/team-memberships/{teamId}/{userId}', summary: 'Remove a member (client: team_admin, or leaving oneself)', access: ['client', 'server'] },
  { method: 'post', path: '/team-permissions/{teamId}/{userId}/{permissionId}', summary: 'Grant team_admin (client: team_admin)', access: ['client', 'server'], body: emptyBody },
  { method: 'delete', path: '/team-permissions/{teamId}/{userId}/{permissionId}', summary: 'Revoke team_admin (client: team_admin)', access: ['client', 'server'] },
  { method: 'post', path: '/payments/purchases/create-purchase-url', summary: 'A purchase URL for a product, for a customer (client: itself or a team where it holds team_admin)', access: ['client', 'server'], body: createPurchaseUrlBody },
  { method: 'post', path: '/payments/purchases/complete-test-purchase', summary: 'Pay a purchase URL with the built-in test processor (the code is the credential)', access: 'public', body: completeTestPurchaseBody },
  { method: 'post', path: '/payments/products/{customerType}/{customerId}', summary: 'Grant a product without a charge (test_mode, not refundable)', access: ['server'], body: grantProductBody },
  { method: 'get', path: '/payments/products/{customerType}/{customerId}', summary: 'Products a customer owns', access: ['client', 'server'] },
  { method: 'get', path: '/payments/items/{customerType}/{customerId}', summary: 'Quantities of every item of a customer', access: ['client', 'server'] },
  { method: 'get', path: '/payments/items/{customerType}/{customerId}/{itemId}', summary: 'Quantity of one item of a customer', access: ['client', 'server'] },
  { method: 'post', path: '/internal/payments/transactions/refund', summary: 'Refund a one-time purchase or a subscription invoice (at most once)', access: ['admin'], body: refundBody },
  { method: 'get', path: '/internal/payments/transactions', summary: 'Purchases and subscriptions with their entries and refunds, newest first', access: ['admin'], query: listTransactionsQuery },
  { method: 'get', path: '/internal/payments/test-processor', summary: 'Charges and refunds recorded by the built-in test processor', access: ['admin'] },
  { method: 'post', path: '/internal/payments/test-processor/faults', summary: 'Make the test processor fail its next charges or refunds', access: ['admin'], body: testProcessorFaultBody },
];
