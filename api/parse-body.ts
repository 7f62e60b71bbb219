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
  const parsed = schema.safeParse(json);
  if (parsed.success) return parsed.data;
  const issues = parsed.error.issues.map((issue) => ({ path: issue.path.map(String).join('.') || '(body)', message: issue.message }));
  const summary = issues.map((issue) => `${issue.path}: ${issue.message}`).join('; ');
  throw knownErrors.schema(`Request validation failed on body — ${summary}`, { issues });
}
