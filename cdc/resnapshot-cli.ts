import pg from 'pg';
import { z } from 'zod';
import { loadConfig } from '../schema/env-config';
import { requestSnapshot } from './snapshotter';

/**
 * `npm run cdc:resnapshot -- <tenancyId>`: asks the cdc reader on CDC_SLOT to publish the
 * tenancy's rows again as `r` events (every tenancy with `all`), while streaming goes on.
 */
const target = z.union([z.literal('all'), z.uuid()]).safeParse(process.argv[2]);
if (!target.success) {
  console.error('usage: npm run cdc:resnapshot -- <tenancyId | all>');
  process.exit(2);
}
const config = loadConfig();
const pool = new pg.Pool({ connectionString: config.DATABASE_URL, max: 1 });
try {
  const id = await requestSnapshot(pool, config.CDC_SLOT, target.data === 'all' ? null : target.data);
  console.log(`[cdc] snapshot ${id} requested for ${target.data === 'all' ? 'every tenancy' : `tenancy ${target.data}`}; the reader on slot ${config.CDC_SLOT} runs it while streaming`);
} finally {
  await pool.end();
}
