import { describe, expect, it } from 'vitest';
import { deleteStatement, refreshPrimaryEmailStatement, upsertStatements } from './sql';

describe('sink SQL', () => {
  it('builds one multi-row upsert with numbered parameters', () => {
    const [statement, ...rest] = upsertStatements('users', ['id', 'display_name', 'meta'], ['meta'], [
      { id: 'a', display_name: 'A', meta: { x: 1 } },
      { id: 'b', display_name: null, meta: ['array'] },
    ]);
    expect(rest).toEqual([]);
    expect(statement?.text).toBe(
      'INSERT INTO "users" ("id", "display_name", "meta") VALUES ($1, $2, $3), ($4, $5, $6) ON CONFLICT (id) DO UPDATE SET "display_name" = EXCLUDED."display_name", "meta" = EXCLUDED."meta"',
    );
    // jsonb values are bound as JSON text; pg would send a JS array as a Postgres array literal.
    expect(statement?.values).toEqual(['a', 'A', '{"x":1}', 'b', null, '["array"]']);
  });

  it('splits statements before Postgres’s 65,535-parameter limit', () => {
    const columns = ['id', 'a', 'b', 'c', 'd', 'e', 'f', 'g', 'h', 'i'];
    const rows = Array.from({ length: 14_000 }, (_, index) => Object.fromEntries(columns.map((column) => [column, `${column}${index}`])));
    const statements = upsertStatements('t', columns, [], rows);
    expect(statements).toHaveLength(3);
    expect(statements.every((statement) => statement.values.length <= 65_535)).toBe(true);
    expect(statements.reduce((total, statement) => total + statement.values.length, 0)).toBe(140_000);
  });

  it('quotes identifiers', () => {
    const [statement] = upsertStatements('we"ird', ['id'], [], [{ id: 'x' }]);
    expect(statement?.text.startsWith('INSERT INTO "we""ird" ("id")')).toBe(true);
  });

  it('deletes and refreshes by uuid arrays', () => {
    expect(deleteStatement('users', ['a', 'b'])).toEqual({ text: 'DELETE FROM "users" WHERE id = ANY($1::uuid[])', values: [['a', 'b']] });
    expect(refreshPrimaryEmailStatement(['a']).values).toEqual([['a']]);
  });
});
