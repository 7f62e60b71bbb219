/**
 * The seam to whoever moves the money (DESIGN.md: "the payment processor is a port"). The built-in
 * implementation is the test processor (postgres-test-processor.ts); a card processor would sit
 * beside it. Every call carries an idempotency key: asked twice with one key, a processor does the
 * work once and answers the second call with the first call's result.
 */

export interface ChargeRequest {
  tenancyId: string;
  /** Same key, same charge: a retried checkout never charges twice. */
  idempotencyKey: string;
  currency: 'USD';
  /** Integer cents. */
  amountCents: number;
  description: string;
}

export interface RefundRequest {
  tenancyId: string;
  /** Same key, same refund: a retried refund never refunds twice. */
  idempotencyKey: string;
  chargeId: string;
  /** Integer cents, at most what the charge took. */
  amountCents: number;
}

export interface ProcessorCharge {
  chargeId: string;
  amountCents: number;
}

export interface ProcessorRefund {
  refundId: string;
  amountCents: number;
}

/**
 * The processor could not be reached, or did not answer. Whether it did the work is unknown: the
 * caller must retry with the same idempotency key, never with a new one.
 */
export class PaymentProcessorUnavailableError extends Error {
  readonly code = 'PAYMENT_PROCESSOR_UNAVAILABLE';
  constructor(readonly operation: 'charge' | 'refund') {
    super(`the payment processor did not complete the ${operation}`);
    this.name = 'PaymentProcessorUnavailableError';
  }
}

/** The processor refused the request (e.g. an idempotency key reused for another amount). */
export class PaymentProcessorRefusedError extends Error {
  readonly code = 'PAYMENT_PROCESSOR_REFUSED';
  constructor(message: string) {
    super(message);
    this.name = 'PaymentProcessorRefusedError';
  }
}

export interface PaymentProcessor {
  charge(request: ChargeRequest): Promise<ProcessorCharge>;
  refund(request: RefundRequest): Promise<ProcessorRefund>;
  close(): Promise<void>;
}
