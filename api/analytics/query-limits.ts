/**
 * What an analytics query may ask for and return (DESIGN.md "Analytics"), and the SQL that enforces
 * the size limits inside Postgres. Pure: no pg here.
 */
export const analyticsLimits = {
  minTimeoutMs: 1_000,
  maxTimeoutMs: 120_000,
  defaultTimeoutMs: 10_000,
  maxRows: 10_000,
  /** Sum of the rows' JSON texts, in bytes. */
  maxBytes: 10 * 1024 * 1024,
} as const;

/** Trailing semicolons and blanks are dropped: `SELECT 1;` is one statement, as a cursor takes it. */
export function trimQueryText(query: string): string {
  return query.replace(/[\s;]+$/u, '');
}

/**
 * The cursor the rows are read from. Each row becomes its JSON text in Postgres, with the running
 * total of those texts' bytes; a row past `maxBytes` comes back without its text, so the API never
 * receives more than the limit (plus one small number per row) whatever a row holds.
 *
 * The query sits in parentheses inside this statement. It must have been accepted alone as a cursor
 * first (`probeCursorSql`): a query that parses alone has balanced parentheses and no open comment or
 * string, so it cannot close ours and rewrite the statement around it. The newline ends a trailing
 * `--` comment.
 */
export function boundedCursorSql(cursorName: string, query: string, maxBytes: number): string {
  return `DECLARE ${cursorName} NO SCROLL CURSOR FOR
SELECT CASE WHEN bounded.total_bytes <= ${maxBytes} THEN bounded.row_json END AS row_json, bounded.total_bytes
FROM (
  SELECT rendered.row_json, sum(octet_length(rendered.row_json)) OVER (ROWS UNBOUNDED PRECEDING) AS total_bytes
  FROM (SELECT to_json(analytics_row.*)::text AS row_json FROM (
${query}
) AS analytics_row) AS rendered
) AS bounded`;
}

/** The query alone as a cursor: Postgres accepts exactly one SELECT, VALUES or TABLE statement here. */
export function probeCursorSql(cursorName: string, query: string): string {
  return `DECLARE ${cursorName} NO SCROLL CURSOR FOR ${query}`;
}

/** Fetches one row more than allowed, to tell "exactly the limit" from "more". */
export function fetchSql(cursorName: string, maxRows: number): string {
  return `FETCH FORWARD ${maxRows + 1} FROM ${cursorName}`;
}

export interface FetchedRow {
  /** Null once the running total passed the byte limit. */
  row_json: string | null;
  /** Running total of JSON bytes up to and including this row (bigint as text). */
  total_bytes: string;
}

export type BoundedRows =
  | { kind: 'rows'; rows: unknown[]; bytes: number }
  | { kind: 'too-many-rows'; maxRows: number }
  | { kind: 'too-many-bytes'; maxBytes: number };

/** The answer to a fetch: every row, or which limit the result passed (never a silent cut). */
export function boundedRows(fetched: readonly FetchedRow[], limits: { maxRows: number; maxBytes: number }): BoundedRows {
  if (fetched.length > limits.maxRows) return { kind: 'too-many-rows', maxRows: limits.maxRows };
  const rows: unknown[] = [];
  for (const row of fetched) {
    if (row.row_json === null || Number(row.total_bytes) > limits.maxBytes) return { kind: 'too-many-bytes', maxBytes: limits.maxBytes };
    rows.push(JSON.parse(row.row_json));
  }
  return { kind: 'rows', rows, bytes: fetched.length === 0 ? 0 : Number(fetched[fetched.length - 1]!.total_bytes) };
}
