import { describe, expect, it } from 'vitest';
import { databaseTable, formatBytes, formatSeconds, type DatabaseStatus } from './status-table';

describe('operator status table', () => {
  it.each([
    [null, '?'],
    [0, '0 s'],
    [4.25, '4.3 s'],
    [42.4, '42 s'],
    [192, '3 min 12 s'],
    [7_500, '2 h 5 min'],
  ])('formats %s seconds as %s', (seconds, text) => {
    expect(formatSeconds(seconds)).toBe(text);
  });

  it.each([
    [null, '?'],
    [0, '0 B'],
    [1_536, '1.5 KiB'],
    [13_107_200, '12.5 MiB'],
  ])('formats %s bytes as %s', (bytes, text) => {
    expect(formatBytes(bytes)).toBe(text);
  });

  const database = (overrides: Partial<DatabaseStatus>): DatabaseStatus => ({
    id: 'main',
    status: 'ok',
    paused_by: null,
    last_synced_sequence_id: '41',
    backlog: 0,
    lag_seconds: 0,
    error: null,
    connection: { host: 'db.example.com', port: 5432, database: 'app' },
    rebuild: null,
    users_table: { exists: true, total_rows: 1_204, total_rows_estimated: false },
    ...overrides,
  });

  it('shows why a database is paused or failing, its lag, backlog and rebuild progress', () => {
    const text = databaseTable([
      { database: database({}) },
      { database: database({ id: 'held', status: 'paused', paused_by: 'project', backlog: 12, lag_seconds: 75 }) },
      { database: database({ id: 'broken', status: 'error', error: { code: 'SINK_TARGET_UNREACHABLE', message: 'down' }, backlog: null, lag_seconds: null }) },
      { database: database({ id: 'fresh', rebuild: { state: 'running', records_done: 250, records_total: 1_000 } }) },
    ]);
    expect(text).toContain('db.example.com:5432/app');
    expect(text).toMatch(/held\s+│[^│]+│ paused \(project\)\s+│ 1 min 15 s\s+│ 12 /);
    expect(text).toContain('error: SINK_TARGET_UNREACHABLE');
    expect(text).toContain('running 25%');
    expect(text).not.toContain('tenancy');
  });

  it('shows the users table as counted, estimated, missing or not counted yet', () => {
    const text = databaseTable([
      { database: database({}) },
      { database: database({ id: 'big', users_table: { exists: true, total_rows: 3_100_000, total_rows_estimated: true } }) },
      { database: database({ id: 'bare', users_table: { exists: false, total_rows: 0, total_rows_estimated: false } }) },
      { database: database({ id: 'new', users_table: null }) },
    ]);
    expect(text).toMatch(/main\s+│.*│ 1,204\s+│/);
    expect(text).toMatch(/big\s+│.*│ ~3,100,000\s+│/);
    expect(text).toMatch(/bare\s+│.*│ no table\s+│/);
    expect(text).toMatch(/new\s+│.*│ \?\s+│/);
  });

  it('adds a tenancy column when rows span tenancies', () => {
    expect(databaseTable([{ tenancyId: 'a1b2', database: database({}) }])).toContain('tenancy');
  });
});
