import type { Context } from 'hono';
import type { z } from 'zod';
import { knownErrors } from './api-error';

/** Bodies larger than this are refused before parsing. */
const maxBodyBytes = 1_000_000;

/**
 * Parses a JSON body with a zod schema. Failures are 400 SCHEMA_ERROR naming each field, so a
 * client sees which field is wrong without guessing.
 */
export async function parseBody<Schema extends z.ZodType>(c: Context, schema: Schema): Promise<z.infer<Schema>> {
  const text = await c.req.text();
  if (text.length > maxBodyBytes) throw knownErrors.schema(`The body is larger than ${maxBodyBytes} bytes.`, { issues: [] });
  let json: unknown;
  try {
    json = text.length === 0 ? {} : JSON.parse(text);
  } catch {
    throw knownErrors.bodyNotJson();
  }
  const nulPath = pathOfNulCharacter(json);
  if (nulPath !== undefined) {
    // Postgres text and jsonb cannot hold U+0000: refuse it here rather than fail at the insert.
    throw knownErrors.schema(`Request validation failed on body — ${nulPath}: contains the NUL character (U+0000)`, {
      issues: [{ path: nulPath, message: 'contains the NUL character (U+0000)' }],
    });
  }
  const parsed = schema.safeParse(json);
  if (parsed.success) return parsed.data;
  const issues = parsed.error.issues.map((issue) => ({ path: issue.path.map(String).join('.') || '(body)', message: issue.message }));
  const summary = issues.map((issue) => `${issue.path}: ${issue.message}`).join('; ');
  throw knownErrors.schema(`Request validation failed on body — ${summary}`, { issues });
}

/** The path of the first string (value or key) holding U+0000, if any. */
function pathOfNulCharacter(value: unknown, path: string[] = []): string | undefined {
  if (typeof value === 'string') return value.includes('\u0000') ? path.join('.') || '(body)' : undefined;
  if (Array.isArray(value)) {
    for (const [index, item] of value.entries()) {
      const found = pathOfNulCharacter(item, [...path, String(index)]);
      if (found !== undefined) return found;
    }
    return undefined;
  }
  if (typeof value === 'object' && value !== null) {
    for (const [key, item] of Object.entries(value)) {
      if (key.includes('\u0000')) return [...path, key].join('.');
      const found = pathOfNulCharacter(item, [...path, key]);
      if (found !== undefined) return found;
    }
  }
  return undefined;
}
