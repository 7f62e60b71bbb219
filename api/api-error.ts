import type { ContentfulStatusCode } from 'hono/utils/http-status';

/**
 * The API's one error type: an HTTP status, a stable UPPER_SNAKE code (also sent as the
 * `x-stack-known-error` header) and a human message. Anything else that escapes a route is a 500.
 */
export class ApiError extends Error {
  constructor(
    readonly status: ContentfulStatusCode,
    readonly code: string,
    message: string,
    readonly details?: Record<string, unknown>,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

export const knownErrors = {
  schema: (message: string, details: Record<string, unknown>) => new ApiError(400, 'SCHEMA_ERROR', message, details),
  bodyTooLarge: (maxBytes: number) => new ApiError(413, 'BODY_TOO_LARGE', `The request body is larger than ${maxBytes} bytes.`),
  bodyNotJson: () => new ApiError(400, 'BODY_PARSING_ERROR', 'The request body must be JSON (content-type: application/json).'),
  accessTypeRequired: () =>
    new ApiError(400, 'ACCESS_TYPE_REQUIRED', 'Send x-stack-access-type: client, server or admin.'),
  invalidAccessType: (value: string) =>
    new ApiError(400, 'INVALID_ACCESS_TYPE', `x-stack-access-type must be client, server or admin, not ${JSON.stringify(value)}.`),
  // 400 as in stack-auth: the request is malformed, no credential was judged.
  projectIdRequired: () =>
    new ApiError(400, 'ACCESS_TYPE_WITHOUT_PROJECT_ID', 'x-stack-access-type was sent without x-stack-project-id.'),
  projectNotFound: () => new ApiError(401, 'PROJECT_NOT_FOUND', 'No project has this id.'),
  invalidPublishableClientKey: () => new ApiError(401, 'INVALID_PUBLISHABLE_CLIENT_KEY', 'The publishable client key is missing or wrong for this project.'),
  invalidSecretServerKey: () => new ApiError(401, 'INVALID_SECRET_SERVER_KEY', 'The secret server key is missing or wrong for this project.'),
  invalidSuperSecretAdminKey: () => new ApiError(401, 'INVALID_SUPER_SECRET_ADMIN_KEY', 'The super secret admin key is missing or wrong for this project.'),
  insufficientAccessType: (actual: string, allowed: readonly string[]) =>
    new ApiError(401, 'INSUFFICIENT_ACCESS_TYPE', `This endpoint needs access type ${allowed.join(' or ')}, not ${actual}.`, { actual, allowed }),
  invalidInternalAdminKey: () => new ApiError(401, 'INVALID_INTERNAL_ADMIN_KEY', 'x-stack-internal-admin-key is missing or wrong.'),
  userNotFound: () => new ApiError(404, 'USER_NOT_FOUND', 'No user with this id exists in this project.'),
  userEmailAlreadyExists: () => new ApiError(409, 'USER_EMAIL_ALREADY_EXISTS', 'A user of this project already uses this email for sign-in.'),
  contactChannelAlreadyExists: () =>
    new ApiError(409, 'CONTACT_CHANNEL_ALREADY_USED_FOR_AUTH_BY_SOMEONE_ELSE', 'This contact channel is already used for sign-in by another user.'),
  userAuthenticationRequired: () => new ApiError(401, 'USER_AUTHENTICATION_REQUIRED', 'Send a signed-in user’s access token (x-stack-access-token).'),
  accessTokenExpired: () => new ApiError(401, 'ACCESS_TOKEN_EXPIRED', 'The access token has expired; refresh it.'),
  invalidAccessToken: () => new ApiError(401, 'INVALID_ACCESS_TOKEN', 'The access token is not valid for this project.'),
  sessionRevoked: () => new ApiError(401, 'SESSION_REVOKED', 'This session has been signed out.'),
  refreshTokenRequired: () => new ApiError(400, 'REFRESH_TOKEN_REQUIRED', 'Send the refresh token in x-stack-refresh-token.'),
  refreshTokenNotFoundOrExpired: () => new ApiError(401, 'REFRESH_TOKEN_NOT_FOUND_OR_EXPIRED', 'The refresh token is unknown, expired or signed out.'),
  refreshTokenReused: () =>
    new ApiError(401, 'REFRESH_TOKEN_REUSED', 'This refresh token was already used; the whole session has been revoked as a precaution.'),
  passwordAuthNotEnabled: () => new ApiError(400, 'PASSWORD_AUTHENTICATION_NOT_ENABLED', 'Password sign-in is not enabled for this project.'),
  otpNotEnabled: () => new ApiError(400, 'OTP_SIGN_IN_NOT_ENABLED', 'Sign-in with email codes is not enabled for this project.'),
  anonymousNotEnabled: () => new ApiError(400, 'ANONYMOUS_SIGN_UP_NOT_ENABLED', 'Anonymous sign-up is not enabled for this project.'),
  passwordTooShort: (min: number) => new ApiError(400, 'PASSWORD_TOO_SHORT', `The password must have at least ${min} characters.`, { min_length: min }),
  passwordTooLong: (max: number) => new ApiError(400, 'PASSWORD_TOO_LONG', `The password must have at most ${max} characters.`, { max_length: max }),
  emailPasswordMismatch: () => new ApiError(400, 'EMAIL_PASSWORD_MISMATCH', 'Wrong email or password.'),
  rateLimited: (retryAfterSeconds: number) =>
    new ApiError(429, 'RATE_LIMITED', `Too many attempts; try again in ${retryAfterSeconds} s.`, { retry_after_seconds: retryAfterSeconds }, {
      'retry-after': String(retryAfterSeconds),
    }),
  verificationCodeInvalid: () => new ApiError(400, 'VERIFICATION_CODE_INVALID', 'The code is wrong.'),
  verificationCodeNotFound: () => new ApiError(404, 'VERIFICATION_CODE_NOT_FOUND', 'No such sign-in code was sent.'),
  verificationCodeExpired: () => new ApiError(400, 'VERIFICATION_CODE_EXPIRED', 'The code has expired; ask for a new one.'),
  verificationCodeAlreadyUsed: () => new ApiError(400, 'VERIFICATION_CODE_ALREADY_USED', 'The code was already used.'),
  verificationCodeLocked: () => new ApiError(400, 'VERIFICATION_CODE_LOCKED', 'Too many wrong tries: this code no longer works; ask for a new one.'),
  redirectUrlNotWhitelisted: (field: string) =>
    new ApiError(400, 'REDIRECT_URL_NOT_WHITELISTED', `${field} is not on one of the project’s trusted domains.`, { field }),
  oauthProviderNotEnabled: () => new ApiError(400, 'OAUTH_PROVIDER_NOT_FOUND_OR_NOT_ENABLED', 'This OAuth provider is not enabled for this project.'),
  appleBundleIdNotConfigured: () => new ApiError(400, 'APPLE_BUNDLE_ID_NOT_CONFIGURED', 'The project has no Apple bundle id configured.'),
  invalidAppleCredentials: () => new ApiError(400, 'INVALID_APPLE_CREDENTIALS', 'The Apple id token is not valid for this project.'),
  contactChannelNotFound: () => new ApiError(404, 'CONTACT_CHANNEL_NOT_FOUND', 'No such contact channel for this user.'),
  externalDatabaseNotAllowed: (databaseId: string) =>
    new ApiError(
      400,
      'EXTERNAL_DATABASE_ADDRESS_NOT_ALLOWED',
      `External database ${databaseId}: its host is not an address the sync may connect to (only public addresses are allowed).`,
      { database_id: databaseId },
    ),
  // Generic on purpose: which rule refused, and its message, are the admins' own.
  signUpRejected: () => new ApiError(403, 'SIGN_UP_REJECTED', 'Your sign up was rejected. Please contact us for more information.'),
  analyticsQueryError: (postgresMessage: string, queryId: string) =>
    new ApiError(400, 'ANALYTICS_QUERY_ERROR', postgresMessage, { query_id: queryId }),
  analyticsQueryTimeout: (timeoutMs: number, queryId: string) =>
    new ApiError(400, 'ANALYTICS_QUERY_TIMEOUT', `The query did not finish within ${timeoutMs} ms and was cancelled.`, { timeout_ms: timeoutMs, query_id: queryId }),
  analyticsResultTooLarge: (limit: string, queryId: string) =>
    new ApiError(400, 'ANALYTICS_RESULT_TOO_LARGE', `The result has more than ${limit}; aggregate or add a LIMIT. Nothing was returned.`, { query_id: queryId }),
  teamNotFound: () => new ApiError(404, 'TEAM_NOT_FOUND', 'No team with this id exists in this project.'),
  teamMembershipNotFound: () => new ApiError(404, 'TEAM_MEMBERSHIP_NOT_FOUND', 'This user is not a member of this team.'),
  teamPermissionRequired: () => new ApiError(401, 'TEAM_PERMISSION_REQUIRED', 'The signed-in user needs the team_admin permission of this team.'),
  teamPermissionNotFound: () => new ApiError(404, 'TEAM_PERMISSION_NOT_FOUND', 'The only team permission is team_admin.'),
  customerAccessForbidden: (message: string) => new ApiError(403, 'CUSTOMER_ACCESS_FORBIDDEN', message),
  customerNotFound: () => new ApiError(404, 'CUSTOMER_NOT_FOUND', 'No such customer in this project.'),
  productNotFound: () => new ApiError(404, 'PRODUCT_NOT_FOUND', 'No product with this id in the project’s catalogue.'),
  productCustomerTypeMismatch: (productType: string, customerType: string) =>
    new ApiError(400, 'PRODUCT_CUSTOMER_TYPE_DOES_NOT_MATCH', `The product is sold to customers of type ${productType}, not ${customerType}.`, { product_customer_type: productType, customer_type: customerType }),
  purchaseSessionNotFound: () => new ApiError(404, 'PURCHASE_SESSION_NOT_FOUND', 'No purchase session has this code, or it has expired.'),
  oneTimePurchaseNotFound: () => new ApiError(404, 'ONE_TIME_PURCHASE_NOT_FOUND', 'No one-time purchase with this id in this project.'),
  subscriptionInvoiceNotFound: () => new ApiError(404, 'SUBSCRIPTION_INVOICE_NOT_FOUND', 'No subscription invoice for this id in this project.'),
  oneTimePurchaseAlreadyRefunded: () => new ApiError(400, 'ONE_TIME_PURCHASE_ALREADY_REFUNDED', 'This one-time purchase has already been refunded.'),
  subscriptionAlreadyRefunded: () => new ApiError(400, 'SUBSCRIPTION_ALREADY_REFUNDED', 'This subscription’s invoice has already been refunded.'),
  testModePurchaseNonRefundable: () =>
    new ApiError(400, 'TEST_MODE_PURCHASE_NON_REFUNDABLE', 'This purchase was granted in test mode, without a charge: there is nothing to refund.'),
  paymentProcessorUnavailable: () =>
    new ApiError(503, 'PAYMENT_PROCESSOR_UNAVAILABLE', 'The payment processor did not answer; nothing was recorded. Retry the same request: it will not be carried out twice.'),
  paymentProcessorRefused: (reason: string) => new ApiError(502, 'PAYMENT_PROCESSOR_REFUSED', `The payment processor refused the request: ${reason}.`),
  internalAdminKeyRequired: (what: string) =>
    new ApiError(403, 'INTERNAL_ADMIN_KEY_REQUIRED', `${what} can only be changed with the internal admin key (x-stack-internal-admin-key).`),
  projectAdminKeyRequired: (what: string) =>
    new ApiError(400, 'PROJECT_ADMIN_KEY_REQUIRED', `${what} needs a project: call it with the project's admin key.`),
  externalDatabaseNotFound: (databaseId: string) =>
    new ApiError(404, 'EXTERNAL_DATABASE_NOT_FOUND', `The project has no external database ${JSON.stringify(databaseId)}.`, { database_id: databaseId }),
  itemNotFound: () => new ApiError(404, 'ITEM_NOT_FOUND', 'No such item in this project.'),
  databaseUnavailable: () =>
    new ApiError(503, 'DATABASE_UNAVAILABLE', 'The service’s database is unavailable for a moment; retry shortly.', undefined, { 'retry-after': '5' }),
  routeNotFound: (method: string, path: string) => new ApiError(404, 'ROUTE_NOT_FOUND', `No route ${method} ${path}.`),
} as const;
