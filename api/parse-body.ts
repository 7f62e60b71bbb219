import type { Context } from 'hono';
import { z } from 'zod';
import { knownErrors, type ApiError } from './api-error';
import { findInexactNumber } from './json-number-precision';

/** For routes that take no body: nothing, or `{}`. */
export const emptyBody = z.strictObject({});

/**
 * Bodies larger than this are refused (413 BODY_TOO_LARGE) by the body-limit middleware of
 * api/app.ts: from Content-Length before reading, or while streaming once this many bytes came.
 */
export const maxBodyBytes = 1_000_000;
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

function schemaError(path: string, message: string): ApiError {
  return knownErrors.schema(`Request validation failed on body — ${path}: ${message}`, { issues: [{ path, message }] });
}

/**
 * Parses a JSON body with a zod schema. Failures are 400 SCHEMA_ERROR naming each field, so a
 * client sees which field is wrong without guessing.
 */
export async function parseBody<Schema extends z.ZodType>(c: Context, schema: Schema): Promise<z.infer<Schema>> {
  const text = await c.req.text();
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
  const unstorable = findUnstorableText(json);
  if (unstorable) throw schemaError(unstorable.path, unstorable.problem);
  const inexact = findInexactNumber(text);
  if (inexact) throw schemaError(inexact.path, `the number ${inexact.literal.slice(0, 40)} cannot be stored exactly (integers must lie within ±(2^53 − 1); use a string for larger ones)`);
  const parsed = schema.safeParse(json);
  if (parsed.success) return parsed.data;
  const issues = parsed.error.issues.map((issue) => ({ path: issue.path.map(String).join('.') || '(body)', message: issue.message }));
  const summary = issues.map((issue) => `${issue.path}: ${issue.message}`).join('; ');
  throw knownErrors.schema(`Request validation failed on body — ${summary}`, { issues });
}

/** A UTF-16 surrogate without its partner: JSON can spell it (`"\udfff"`), UTF-8 cannot hold it. */
const loneSurrogate = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/**
 * Why a string cannot be stored as sent: Postgres text and jsonb refuse U+0000, and a lone surrogate
 * has no UTF-8 form (jsonb refuses it; a text column would get U+FFFD instead, silently).
 */
function problemOf(text: string): string | undefined {
  if (text.includes('\u0000')) return 'contains the NUL character (U+0000)';
  if (loneSurrogate.test(text)) return 'contains a lone UTF-16 surrogate (not valid Unicode text)';
  return undefined;
}

/** The path and problem of the first string (value or key) that cannot be stored as sent. */
function findUnstorableText(value: unknown, path: string[] = []): { path: string; problem: string } | undefined {
  if (typeof value === 'string') {
    const problem = problemOf(value);
    return problem ? { path: path.join('.') || '(body)', problem } : undefined;
  }
  if (Array.isArray(value)) {
    for (const [index, item] of value.entries()) {
      const found = findUnstorableText(item, [...path, String(index)]);
      if (found) return found;
    }
    return undefined;
  }
  if (typeof value === 'object' && value !== null) {
    for (const [key, item] of Object.entries(value)) {
      const keyProblem = problemOf(key);
      // The key itself is unprintable: name its parent and say it is a key.
      if (keyProblem) return { path: path.join('.') || '(body)', problem: `a key ${keyProblem}` };
      const found = findUnstorableText(item, [...path, key]);
      if (found) return found;
    }
  }
  return undefined;
}
