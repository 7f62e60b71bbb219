import pg from 'pg';
import { describe, expect, it } from 'vitest';
import { testServices, withClient } from '../../e2e/harness/test-services';
import { waitFor } from '../wait-for';
import { survivePoolErrors } from './pg-pool-errors';

describe('survivePoolErrors', () => {
  // Without it, a checked-out connection that the server ends between two statements emits 'error'
  // with no listener: an uncaught exception that ends the process (vitest reports it as an error).
  it('a checked-out connection ended by the server fails its next query instead of crashing the process', async () => {
    const pool = survivePoolErrors(new pg.Pool({ connectionString: testServices().internalAdminUrl, max: 1, application_name: 'pool-errors-test' }));
    try {
      const client = await pool.connect();
      const { rows } = await client.query<{ pid: number }>('SELECT pg_backend_pid() AS pid');
      await withClient(testServices().internalAdminUrl, (admin) => admin.query('SELECT pg_terminate_backend($1)', [rows[0]!.pid]));
      await waitFor('the termination to reach the client', async () => {
        try {
          await client.query('SELECT 1');
          return false;
        } catch {
          return true;
        }
      }, { timeoutMs: 10_000 });
      client.release(true);
      expect((await pool.query<{ one: number }>('SELECT 1 AS one')).rows[0]?.one).toBe(1);
    } finally {
      await pool.end();
    }
  });
});
