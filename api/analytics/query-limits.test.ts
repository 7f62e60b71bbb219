import { describe, expect, it } from 'vitest';
import { boundedCursorSql, boundedRows, fetchSql, probeCursorSql, trimQueryText } from './query-limits';

const limits = { maxRows: 3, maxBytes: 20 };

describe('analytics query limits', () => {
  it.each([
    ['SELECT 1;', 'SELECT 1'],
    ['SELECT 1 ; ;\n\t', 'SELECT 1'],
    ['SELECT 1 -- note;', 'SELECT 1 -- note'],
    ['SELECT 1', 'SELECT 1'],
    ['SELECT \';\'', 'SELECT \';\''],
  ])('trims %j to %j', (raw, trimmed) => expect(trimQueryText(raw)).toBe(trimmed));

  it('puts the query on lines of its own inside the bounded cursor, so a trailing comment ends at the newline', () => {
    const sql = boundedCursorSql('c', 'SELECT 1 -- x', 99);
    expect(sql).toContain('\nSELECT 1 -- x\n) AS analytics_row');
    expect(sql).toContain('<= 99 THEN');
    expect(probeCursorSql('p', 'SELECT 1')).toBe('DECLARE p NO SCROLL CURSOR FOR SELECT 1');
    expect(fetchSql('c', 10_000)).toBe('FETCH FORWARD 10001 FROM c');
  });

  it('returns every row within the limits', () => {
    expect(boundedRows([{ row_json: '{"a":1}', total_bytes: '7' }, { row_json: '{"a":2}', total_bytes: '14' }], limits)).toEqual({ kind: 'rows', rows: [{ a: 1 }, { a: 2 }], bytes: 14 });
    expect(boundedRows([], limits)).toEqual({ kind: 'rows', rows: [], bytes: 0 });
  });

  it('refuses one row more than allowed rather than cutting it off', () => {
    const row = { row_json: '{}', total_bytes: '2' };
    expect(boundedRows([row, row, row], limits).kind).toBe('rows');
    expect(boundedRows([row, row, row, row], limits)).toEqual({ kind: 'too-many-rows', maxRows: 3 });
  });

  it('refuses a result whose JSON passes the byte limit, also when Postgres withheld the row', () => {
    expect(boundedRows([{ row_json: '{"a":"12345678"}', total_bytes: '16' }, { row_json: null, total_bytes: '32' }], limits)).toEqual({ kind: 'too-many-bytes', maxBytes: 20 });
    expect(boundedRows([{ row_json: '{"a":"1234567890123456"}', total_bytes: '24' }], limits)).toEqual({ kind: 'too-many-bytes', maxBytes: 20 });
  });
});
