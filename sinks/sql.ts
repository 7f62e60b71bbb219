import type { CellValue } from './mapping';

/** A parameterised statement for `pg`. */
export interface Statement {
  text: string;
  values: unknown[];
}

// Postgres allows 65,535 bind parameters per statement.
const maxParameters = 65_535;


function quoteIdent(name: string): string {
  return `"${name.replaceAll('"', '""')}"`;
}

/** Multi-row `INSERT … ON CONFLICT (id) DO UPDATE`, split so no statement passes the parameter limit. */
export function upsertStatements(
  table: string,
  columns: readonly string[],
  jsonColumns: readonly string[],
  rows: readonly Record<string, CellValue>[],
): Statement[] {
  const isJson = new Set(jsonColumns);
  const rowsPerStatement = Math.max(1, Math.floor(maxParameters / columns.length));
  const statements: Statement[] = [];
  const columnList = columns.map(quoteIdent).join(', ');
  const updates = columns
    .filter((column) => column !== 'id')
    .map((column) => `${quoteIdent(column)} = EXCLUDED.${quoteIdent(column)}`)
    .join(', ');
  for (let start = 0; start < rows.length; start += rowsPerStatement) {
    const chunk = rows.slice(start, start + rowsPerStatement);
    const values: unknown[] = [];
    const tuples = chunk.map((row) => {
      const placeholders = columns.map((column) => {
        const value = row[column] ?? null;
        // jsonb values travel as JSON text: pg would turn a JS array into a Postgres array literal.
        values.push(isJson.has(column) ? JSON.stringify(value) : value);
        return `$${values.length}`;
      });
      return `(${placeholders.join(', ')})`;
    });
    statements.push({
      text: `INSERT INTO ${quoteIdent(table)} (${columnList}) VALUES ${tuples.join(', ')} ON CONFLICT (id) DO UPDATE SET ${updates}`,
      values,
    });
  }
  return statements;
}

export function deleteStatement(table: string, ids: readonly string[]): Statement {
  return { text: `DELETE FROM ${quoteIdent(table)} WHERE id = ANY($1::uuid[])`, values: [ids] };
}

/** Derives users.primary_email(_verified) from the mirrored primary EMAIL channel. */
export function refreshPrimaryEmailStatement(userIds: readonly string[]): Statement {
  return {
    text: `UPDATE users u
              SET primary_email = cc.value,
                  primary_email_verified = COALESCE(cc.is_verified, false)
             FROM (SELECT wanted.id AS user_id, c.value, c.is_verified
                     FROM unnest($1::uuid[]) AS wanted(id)
                     LEFT JOIN contact_channels c
                       ON c.user_id = wanted.id AND c.type = 'EMAIL' AND c.is_primary) cc
            WHERE u.id = cc.user_id
              AND (u.primary_email IS DISTINCT FROM cc.value
                   OR u.primary_email_verified IS DISTINCT FROM COALESCE(cc.is_verified, false))`,
    values: [userIds],
  };
}
