import { Hono } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import { logger } from '../infra/runtime/log';
import { ApiError, knownErrors } from './api-error';
import type { ApiDependencies, ApiEnv } from './api-env';
import { statusPageRoutes } from './dashboard/status-page-routes';
import { docsPage, openApiDocument } from './openapi';
import { maxBodyBytes } from './parse-body';
import { isDatabaseUnavailable, mayBeLostConnection } from './pg-errors';
import { internalDatabaseAnswers } from './database-probe';
import { analyticsRoutes } from './routes/analytics';
import { anonymousAuthRoutes } from './routes/auth-anonymous';
import { appleAuthRoutes } from './routes/auth-apple';
import { otpAuthRoutes } from './routes/auth-otp';
import { passwordAuthRoutes } from './routes/auth-password';
import { paymentAdminRoutes } from './routes/payments-admin';
import { paymentRoutes } from './routes/payments';
import { sessionRoutes } from './routes/auth-sessions';
import { contactChannelRoutes } from './routes/contact-channels';
import { emailRoutes } from './routes/emails';
import { jwksRoutes } from './routes/jwks';
import { projectConfigRoutes } from './routes/project-config';
import { projectRoutes } from './routes/projects';
import { signUpRuleRoutes } from './routes/sign-up-rules';
import { syncOperationRoutes } from './routes/sync-operations';
import { syncStatusRoutes } from './routes/sync-status';
import { teamRoutes } from './routes/teams';
import { currentUserRoutes } from './routes/users-me';
import { userListRoutes } from './routes/users-list';
import { userRoutes } from './routes/users';

const log = logger('api');

/** The REST API. Everything it needs comes in `deps`, so tests run it with `app.request()`. */
export function createApp(deps: ApiDependencies): Hono<ApiEnv> {
  const document = openApiDocument(deps.auth.apiUrl);
  const v1 = new Hono<ApiEnv>()
    .get('/openapi.json', (c) => c.json(document))
    .get('/docs', (c) => c.html(docsPage(document)))
    .route('/', projectRoutes)
    .route('/', projectConfigRoutes)
    .route('/', syncStatusRoutes)
    .route('/', syncOperationRoutes)
    .route('/', signUpRuleRoutes)
    .route('/', emailRoutes)
    .route('/', analyticsRoutes)
    .route('/', jwksRoutes)
    .route('/', passwordAuthRoutes)
    .route('/', anonymousAuthRoutes)
    .route('/', otpAuthRoutes)
    .route('/', appleAuthRoutes)
    .route('/', sessionRoutes)
    // /users/me before /users/{userId}, which would otherwise take "me" for an id.
    .route('/', currentUserRoutes)
    .route('/', userListRoutes)
    .route('/', userRoutes)
    .route('/', contactChannelRoutes)
    .route('/', teamRoutes)
    .route('/', paymentRoutes)
    .route('/', paymentAdminRoutes);

  const app = new Hono<ApiEnv>();
  app.use(async (c, next) => {
    c.set('deps', deps);
    await next();
  });
  // Refused from Content-Length before a byte is read, or while streaming once the limit is
  // passed: a body is never held whole in memory beyond the limit.
  app.use(
    bodyLimit({
      maxSize: maxBodyBytes,
      onError: () => {
        throw knownErrors.bodyTooLarge(maxBodyBytes);
      },
    }),
  );
  app.get('/health', (c) => c.json({ status: 'ok' }));
  app.route('/api/v1', v1);
  // The browser status page for a project's admins; it calls the routes above with their key.
  app.route('/dashboard', statusPageRoutes);
  app.route('/api/latest', v1);
  app.notFound((c) => {
    const error = knownErrors.routeNotFound(c.req.method, c.req.path);
    return c.json({ code: error.code, error: error.message }, 404, { 'x-stack-known-error': error.code });
  });
  app.onError(async (error, c) => {
    // The internal database down or restarting: a known, retryable answer instead of a 500.
    // A query cut by a crashing server fails as a plain Error without any code (pg's "Connection
    // terminated"): only such errors are checked against the database itself, so a bug (a
    // TypeError, a SQLSTATE Postgres answered) stays a 500 even when the pool is busy.
    if (!(error instanceof ApiError) && (isDatabaseUnavailable(error) || (mayBeLostConnection(error) && !(await internalDatabaseAnswers(deps.db))))) {
      log.warn('internal database unavailable', { method: c.req.method, route: c.req.routePath, error });
      error = knownErrors.databaseUnavailable();
    }
    if (error instanceof ApiError) {
      return c.json({ code: error.code, error: error.message, ...(error.details ? { details: error.details } : {}) }, error.status, {
        ...error.headers,
        'x-stack-known-error': error.code,
      });
    }
    // The route's pattern, not the path (which can hold what the client sent), and the error's
    // safe summary, never its message (infra/runtime/log.ts).
    log.error('unhandled error', { method: c.req.method, route: c.req.routePath, error });
    return c.json({ code: 'INTERNAL_SERVER_ERROR', error: 'Something went wrong on our side.' }, 500);
  });
  return app;
}
