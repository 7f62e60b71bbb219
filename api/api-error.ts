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
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

export const knownErrors = {
  schema: (message: string, details: Record<string, unknown>) => new ApiError(400, 'SCHEMA_ERROR', message, details),
  bodyNotJson: () => new ApiError(400, 'BODY_PARSING_ERROR', 'The request body must be JSON (content-type: application/json).'),
  accessTypeRequired: () =>
    new ApiError(400, 'ACCESS_TYPE_REQUIRED', 'Send x-stack-access-type: client, server or admin.'),
  invalidAccessType: (value: string) =>
    new ApiError(400, 'INVALID_ACCESS_TYPE', `x-stack-access-type must be client, server or admin, not ${JSON.stringify(value)}.`),
  projectIdRequired: () =>
    new ApiError(401, 'ACCESS_TYPE_WITHOUT_PROJECT_ID', 'x-stack-access-type was sent without x-stack-project-id.'),
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
  routeNotFound: (method: string, path: string) => new ApiError(404, 'ROUTE_NOT_FOUND', `No route ${method} ${path}.`),
} as const;
