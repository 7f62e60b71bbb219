import { Hono } from 'hono';
import { z } from 'zod';
import { testProcessorFault } from '../../schema/payment-tables';
import { knownErrors } from '../api-error';
import type { ApiEnv } from '../api-env';
import { parseBody } from '../parse-body';
import { requireAccess } from '../project-auth';
import { refundBody, refundPurchase } from '../payments/refund-service';
import { listTransactions, listTransactionsQuery, testProcessorLedger } from '../payments/transaction-list';

export const testProcessorFaultBody = z.strictObject({
  operation: z.enum(['charge', 'refund']),
  /** `unavailable`: refuse before acting; `lost_response`: act, then fail as a timeout would. */
  mode: z.enum(['unavailable', 'lost_response']),
  /** How many of the next calls fail; 0 clears the fault. */
  remaining: z.int().min(0).max(1_000),
});

export const paymentAdminRoutes = new Hono<ApiEnv>()
  .post('/internal/payments/transactions/refund', requireAccess('admin'), async (c) => {
    const { db, paymentProcessor } = c.get('deps');
    const body = await parseBody(c, refundBody);
    const { refundId } = await refundPurchase(db, paymentProcessor, c.get('project'), body);
    return c.json({ success: true, refund_id: refundId });
  })
  .get('/internal/payments/transactions', requireAccess('admin'), async (c) => {
    const parsed = listTransactionsQuery.safeParse(c.req.query());
    if (!parsed.success) {
      const issues = parsed.error.issues.map((issue) => ({ path: issue.path.join('.') || '(query)', message: issue.message }));
      throw knownErrors.schema(`Request validation failed on query — ${issues.map((issue) => `${issue.path}: ${issue.message}`).join('; ')}`, { issues });
    }
    return c.json(await listTransactions(c.get('deps').db, c.get('project').tenancyId, parsed.data));
  })
  /** The built-in test processor's charges and refunds for this project, like the email outbox. */
  .get('/internal/payments/test-processor', requireAccess('admin'), async (c) => c.json(await testProcessorLedger(c.get('deps').db, c.get('project').tenancyId)))
  /** Makes the test processor fail the next calls, to try how an integration copes. */
  .post('/internal/payments/test-processor/faults', requireAccess('admin'), async (c) => {
    const body = await parseBody(c, testProcessorFaultBody);
    const tenancyId = c.get('project').tenancyId;
    await c
      .get('deps')
      .db.insert(testProcessorFault)
      .values({ tenancyId, operation: body.operation, mode: body.mode, remaining: body.remaining })
      .onConflictDoUpdate({ target: [testProcessorFault.tenancyId, testProcessorFault.operation], set: { mode: body.mode, remaining: body.remaining } });
    return c.json({ success: true });
  });
