import { randomUUID } from 'node:crypto';
import pg from 'pg';
import {
  PaymentProcessorRefusedError,
  PaymentProcessorUnavailableError,
  type ChargeRequest,
  type PaymentProcessor,
  type ProcessorCharge,
  type ProcessorRefund,
  type RefundRequest,
} from './payment-processor';
import { survivePoolErrors } from '../../infra/runtime/pg-pool-errors';

type Operation = 'charge' | 'refund';

/**
 * The built-in processor: it records charges and refunds in the internal database (TestProcessor*
 * tables) instead of moving money, and plays the faults a project configured (TestProcessorFault).
 *
 * It talks to Postgres on a small pool of its own, as a card processor is a service of its own:
 * what it records survives a rollback of the caller's transaction (the case a retry must survive),
 * and the API's pool can be fully taken by requests waiting on a purchase's lock without starving it.
 */
export class PostgresTestProcessor implements PaymentProcessor {
  readonly #pool: pg.Pool;

  constructor(databaseUrl: string) {
    // Bounded waits: callers hold a purchase's row lock while they wait for this processor.
    this.#pool = new pg.Pool({ connectionString: databaseUrl, max: 4, connectionTimeoutMillis: 5_000, options: '-c TimeZone=UTC -c statement_timeout=10000' });
    survivePoolErrors(this.#pool);
  }

  /** Consumes one fault of this operation, if the project has one left. */
  async #fault(client: pg.PoolClient, tenancyId: string, operation: Operation): Promise<'unavailable' | 'lost_response' | undefined> {
    const result = await client.query<{ mode: 'unavailable' | 'lost_response' }>(
      `UPDATE "TestProcessorFault" SET remaining = remaining - 1
        WHERE "tenancyId" = $1 AND operation = $2 AND remaining > 0
        RETURNING mode`,
      [tenancyId, operation],
    );
    return result.rows[0]?.mode;
  }

  /**
   * Runs `work` with the operation's fault: `unavailable` does nothing and fails; `lost_response`
   * commits the work and then fails, as a timeout after the processor acted would.
   */
  async #withFault<Result>(tenancyId: string, operation: Operation, work: (client: pg.PoolClient) => Promise<Result>): Promise<Result> {
    const client = await this.#pool.connect().catch(() => {
      throw new PaymentProcessorUnavailableError(operation);
    });
    try {
      await client.query('BEGIN');
      const fault = await this.#fault(client, tenancyId, operation);
      if (fault === 'unavailable') {
        // The fault's use is kept; nothing else happened.
        await client.query('COMMIT');
        throw new PaymentProcessorUnavailableError(operation);
      }
      const result = await work(client);
      await client.query('COMMIT');
      if (fault === 'lost_response') throw new PaymentProcessorUnavailableError(operation);
      return result;
    } catch (error: unknown) {
      await client.query('ROLLBACK').catch(() => undefined);
      throw error;
    } finally {
      client.release();
    }
  }

  async charge(request: ChargeRequest): Promise<ProcessorCharge> {
    return this.#withFault(request.tenancyId, 'charge', async (client) => {
      // The idempotency key's row decides: a second call with the key finds the first charge.
      const inserted = await client.query<{ id: string; amountCents: string }>(
        `INSERT INTO "TestProcessorCharge" (id, "tenancyId", currency, "amountCents", description, "idempotencyKey")
         VALUES ($1, $2, $3, $4, $5, $6)
         ON CONFLICT ("tenancyId", "idempotencyKey") DO UPDATE SET "idempotencyKey" = EXCLUDED."idempotencyKey"
         RETURNING id, "amountCents"`,
        [randomUUID(), request.tenancyId, request.currency, request.amountCents, request.description, request.idempotencyKey],
      );
      const row = inserted.rows[0]!;
      if (Number(row.amountCents) !== request.amountCents) throw new PaymentProcessorRefusedError('idempotency key reused for a charge of another amount');
      return { chargeId: row.id, amountCents: Number(row.amountCents) };
    });
  }

  async refund(request: RefundRequest): Promise<ProcessorRefund> {
    return this.#withFault(request.tenancyId, 'refund', async (client) => {
      const charge = await client.query<{ amountCents: string }>(`SELECT "amountCents" FROM "TestProcessorCharge" WHERE id = $1 AND "tenancyId" = $2 FOR UPDATE`, [
        request.chargeId,
        request.tenancyId,
      ]);
      if (!charge.rows[0]) throw new PaymentProcessorRefusedError('no such charge');
      const inserted = await client.query<{ id: string; amountCents: string; chargeId: string }>(
        `INSERT INTO "TestProcessorRefund" (id, "tenancyId", "chargeId", "amountCents", "idempotencyKey")
         VALUES ($1, $2, $3, $4, $5)
         ON CONFLICT ("tenancyId", "idempotencyKey") DO UPDATE SET "idempotencyKey" = EXCLUDED."idempotencyKey"
         RETURNING id, "amountCents", "chargeId"`,
        [randomUUID(), request.tenancyId, request.chargeId, request.amountCents, request.idempotencyKey],
      );
      const row = inserted.rows[0]!;
      if (Number(row.amountCents) !== request.amountCents || row.chargeId !== request.chargeId) {
        throw new PaymentProcessorRefusedError('idempotency key reused for another refund');
      }
      const refunded = await client.query<{ total: string }>(`SELECT coalesce(sum("amountCents"), 0) AS total FROM "TestProcessorRefund" WHERE "chargeId" = $1`, [request.chargeId]);
      if (Number(refunded.rows[0]!.total) > Number(charge.rows[0].amountCents)) throw new PaymentProcessorRefusedError('refunds would exceed the charge');
      return { refundId: row.id, amountCents: Number(row.amountCents) };
    });
  }

  async close(): Promise<void> {
    await this.#pool.end();
  }
}
