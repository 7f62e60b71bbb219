import type { Context } from 'hono';
import { z } from 'zod';
import { knownErrors } from './api-error';

/** For routes that take no body: nothing, or `{}`. */
export const emptyBody = z.strictObject({});

/** Bodies larger than this are refused before parsing. */
const maxBodyBytes = 1_000_000;
/** JSON nested deeper than this is refused before validation. */
const maxDepth = 64;

/** Nesting depth of a JSON value, iteratively (a recursive walk is what the limit protects). */
function depthOf(value: unknown): number {
  let deepest = 0;
  const stack: [unknown, number][] = [[value, 1]];
  while (stack.length > 0) {
    const [current, depth] = stack.pop()!;
    if (typeof current !== 'object' || current === null) continue;
    deepest = Math.max(deepest, depth);
    if (deepest > maxDepth) return deepest;
    for (const child of Object.values(current)) stack.push([child, depth + 1]);
  }
  return deepest;
}

/**
 * Parses a JSON body with a zod schema. Failures are 400 SCHEMA_ERROR naming each field, so a
 * client sees which field is wrong without guessing.
 */
export async function parseBody<Schema extends z.ZodType>(c: Context, schema: Schema): Promise<z.infer<Schema>> {
  const text = await c.req.text();
  if (Buffer.byteLength(text) > maxBodyBytes) throw knownErrors.bodyTooLarge(maxBodyBytes);
  let json: unknown;
  try {
    json = text.length === 0 ? {} : JSON.parse(text);
  } catch {
    throw knownErrors.bodyNotJson();
  }
  if (depthOf(json) > maxDepth) {
    // Deeply nested JSON would make the recursive validators below overflow the stack.
    throw knownErrors.schema(`Request validation failed on body — nested deeper than ${maxDepth} levels`, { issues: [{ path: '(body)', message: 'too deep' }] });
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
