import { z } from 'zod';

/** Something the operator must read: a stable code and a message that says what to do. */
export class OpsError extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = 'OpsError';
  }
}

export interface OpsCredentials {
  /** Base URL of the API, e.g. `https://auth.example.com` (`/api/v1` is appended). */
  apiUrl: string;
  projectId?: string;
  adminKey?: string;
  internalAdminKey?: string;
}

const apiErrorSchema = z.object({ code: z.string(), error: z.string() });

/**
 * The operator CLI's way to the API: the same HTTP routes any remote operator uses, so the CLI
 * works against a deployment it does not run beside. Answers are parsed with zod; failures become
 * OpsErrors naming the API's code.
 */
export class OpsApiClient {
  constructor(private readonly credentials: OpsCredentials) {}

  /** A request with the project's admin key. */
  asProject<Schema extends z.ZodType>(method: string, path: string, schema: Schema, body?: unknown): Promise<z.infer<Schema>> {
    const { projectId, adminKey } = this.credentials;
    if (!projectId || !adminKey) {
      throw new OpsError('OPS_PROJECT_CREDENTIALS_MISSING', 'this command acts on a project: set STACK_PROJECT_ID and STACK_SUPER_SECRET_ADMIN_KEY (or --project-id and --admin-key)');
    }
    return this.#send(method, path, schema, body, { 'x-stack-project-id': projectId, 'x-stack-access-type': 'admin', 'x-stack-super-secret-admin-key': adminKey });
  }

  /** A request with the internal admin key (the whole deployment). */
  asInternal<Schema extends z.ZodType>(method: string, path: string, schema: Schema, body?: unknown): Promise<z.infer<Schema>> {
    const { internalAdminKey } = this.credentials;
    if (!internalAdminKey) throw new OpsError('OPS_INTERNAL_KEY_MISSING', 'this command acts on the whole deployment: set STACK_INTERNAL_ADMIN_KEY (or --internal-admin-key)');
    return this.#send(method, path, schema, body, { 'x-stack-internal-admin-key': internalAdminKey });
  }

  async #send<Schema extends z.ZodType>(method: string, path: string, schema: Schema, body: unknown, headers: Record<string, string>): Promise<z.infer<Schema>> {
    const url = `${this.credentials.apiUrl.replace(/\/+$/, '')}/api/v1${path}`;
    let response: Response;
    try {
      response = await fetch(url, {
        method,
        headers: { ...headers, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
        ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
        signal: AbortSignal.timeout(15_000),
      });
    } catch (error: unknown) {
      throw new OpsError('OPS_API_UNREACHABLE', `cannot reach the API at ${this.credentials.apiUrl} (${error instanceof Error ? error.message : String(error)}); check STACK_API_URL or --api-url`);
    }
    const text = await response.text();
    let json: unknown;
    try {
      json = text ? JSON.parse(text) : {};
    } catch {
      throw new OpsError('OPS_UNEXPECTED_ANSWER', `${method} ${path} answered ${response.status} with something that is not JSON`);
    }
    if (!response.ok) {
      const known = apiErrorSchema.safeParse(json);
      throw new OpsError(known.success ? known.data.code : `HTTP_${response.status}`, known.success ? known.data.error : `${method} ${path} answered ${response.status}`);
    }
    const parsed = schema.safeParse(json);
    if (!parsed.success) throw new OpsError('OPS_UNEXPECTED_ANSWER', `${method} ${path}: the answer does not have the expected shape (${parsed.error.issues[0]?.message ?? 'invalid'}); is the API a different version?`);
    return parsed.data;
  }
}
