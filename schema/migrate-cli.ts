import { loadConfig } from './env-config';
import { migrateInternalDatabase } from './migrate';

/** `npm run migrate`: migrates the internal database that DATABASE_URL names. */
const config = loadConfig();
await migrateInternalDatabase(config.DATABASE_URL);
console.log('[migrate] internal database is up to date');
