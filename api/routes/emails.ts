import { desc, eq } from 'drizzle-orm';
import { Hono } from 'hono';
import { emailOutbox } from '../../schema/auth-tables';
import type { ApiEnv } from '../api-env';
import { requireAccess } from '../project-auth';

/** The project's most recent outgoing emails, as the development sender left them in the outbox. */
export const emailRoutes = new Hono<ApiEnv>().get('/internal/emails', requireAccess('admin'), async (c) => {
  const { db } = c.get('deps');
  const rows = await db
    .select()
    .from(emailOutbox)
    .where(eq(emailOutbox.tenancyId, c.get('project').tenancyId))
    .orderBy(desc(emailOutbox.createdAt))
    .limit(50);
  return c.json({
    items: rows.map((row) => ({ id: row.id, to: row.recipient, subject: row.subject, body: row.body, created_at_millis: row.createdAt.getTime() })),
  });
});
