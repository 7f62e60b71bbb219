import { defineConfig } from 'drizzle-kit';

// `npm run db:generate` writes SQL migrations from schema/tables.ts; hand-written SQL (publication,
// replica identity) lives in `drizzle-kit generate --custom` migrations beside them.
export default defineConfig({
  dialect: 'postgresql',
  schema: ['./schema/tables.ts', './schema/auth-tables.ts', './schema/cdc-tables.ts', './schema/sign-up-rule-tables.ts', './schema/analytics-tables.ts', './schema/sink-tables.ts', './schema/team-tables.ts', './schema/payment-tables.ts', './schema/fusebox-tables.ts'],
  out: './schema/migrations',
});
