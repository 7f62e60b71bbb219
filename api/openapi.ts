import { z } from 'zod';
import { routeCatalog, type RouteDoc } from './route-catalog';

const securityHeaders: Record<string, { header: string }> = {
  client: { header: 'x-stack-publishable-client-key' },
  server: { header: 'x-stack-secret-server-key' },
  admin: { header: 'x-stack-super-secret-admin-key' },
};

function jsonSchema(schema: z.ZodType): unknown {
  return z.toJSONSchema(schema, { io: 'input', unrepresentable: 'any' });
}

function operation(route: RouteDoc): Record<string, unknown> {
  const parameters: unknown[] = [...route.path.matchAll(/\{(\w+)\}/g)].map((match) => ({ name: match[1], in: 'path', required: true, schema: { type: 'string' } }));
  if (Array.isArray(route.access)) {
    parameters.push(
      { name: 'x-stack-project-id', in: 'header', required: true, schema: { type: 'string' } },
      { name: 'x-stack-access-type', in: 'header', required: true, schema: { type: 'string', enum: route.access } },
    );
  }
  if (route.query) {
    const properties = (jsonSchema(route.query) as { properties?: Record<string, unknown> }).properties ?? {};
    for (const [name, schema] of Object.entries(properties)) parameters.push({ name, in: 'query', required: false, schema });
  }
  const security =
    route.access === 'public'
      ? []
      : route.access === 'internal-admin-key'
        ? [{ internalAdminKey: [] }]
        : route.access.map((access) => ({ [`${access}Key`]: [], ...(route.user ? { accessToken: [] } : {}) }));
  return {
    summary: route.summary,
    parameters,
    security,
    ...(route.body ? { requestBody: { required: true, content: { 'application/json': { schema: jsonSchema(route.body) } } } } : {}),
    responses: {
      '200': { description: 'Success' },
      '400': { description: 'SCHEMA_ERROR or another known error', content: { 'application/json': { schema: { $ref: '#/components/schemas/KnownError' } } } },
      '401': { description: 'Missing or wrong credentials', content: { 'application/json': { schema: { $ref: '#/components/schemas/KnownError' } } } },
    },
  };
}

/** The OpenAPI 3.1 document, generated from the zod schemas the routes parse with. */
export function openApiDocument(serverUrl: string): Record<string, unknown> {
  const paths: Record<string, Record<string, unknown>> = {};
  for (const route of routeCatalog) (paths[route.path] ??= {})[route.method] = operation(route);
  return {
    openapi: '3.1.0',
    info: { title: 'stack-sync API', version: '1' },
    servers: [{ url: `${serverUrl.replace(/\/$/, '')}/api/v1` }],
    paths,
    components: {
      securitySchemes: {
        ...Object.fromEntries(Object.entries(securityHeaders).map(([access, { header }]) => [`${access}Key`, { type: 'apiKey', in: 'header', name: header }])),
        internalAdminKey: { type: 'apiKey', in: 'header', name: 'x-stack-internal-admin-key' },
        accessToken: { type: 'apiKey', in: 'header', name: 'x-stack-access-token' },
      },
      schemas: {
        KnownError: {
          type: 'object',
          required: ['code', 'error'],
          properties: { code: { type: 'string' }, error: { type: 'string' }, details: { type: 'object' } },
        },
      },
    },
  };
}

function escapeHtml(text: string): string {
  return text.replaceAll('&', '&amp;').replaceAll('<', '&lt;').replaceAll('>', '&gt;').replaceAll('"', '&quot;');
}

/** A self-contained docs page (no scripts from elsewhere): every route, who may call it, its body schema. */
export function docsPage(document: Record<string, unknown>): string {
  const sections = routeCatalog
    .map((route) => {
      const access = typeof route.access === 'string' ? route.access : route.access.join(', ');
      const body = route.body ? `<pre>${escapeHtml(JSON.stringify(jsonSchema(route.body), null, 2))}</pre>` : '';
      return `<section><h2><code>${route.method.toUpperCase()} /api/v1${escapeHtml(route.path)}</code></h2><p>${escapeHtml(route.summary)} — access: ${escapeHtml(access)}${route.user ? ', signed-in user' : ''}</p>${body}</section>`;
    })
    .join('\n');
  const info = document.info as { title: string };
  return `<!doctype html><html><head><meta charset="utf-8"><title>${escapeHtml(info.title)}</title>
<style>body{font-family:system-ui,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem}pre{background:#f4f4f4;padding:.75rem;overflow:auto}h2{font-size:1.05rem}</style>
</head><body><h1>${escapeHtml(info.title)}</h1><p>Machine-readable: <a href="/api/v1/openapi.json">/api/v1/openapi.json</a>. Errors are <code>{ code, error, details? }</code> with the code also in <code>x-stack-known-error</code>.</p>
${sections}</body></html>`;
}
