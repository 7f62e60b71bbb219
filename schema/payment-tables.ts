import { sql } from 'drizzle-orm';
import { bigint, boolean, check, foreignKey, index, integer, jsonb, pgTable, primaryKey, text, timestamp, uniqueIndex, uuid, type PgColumn } from 'drizzle-orm/pg-core';
import { tenancy } from './tables';

/**
 * Purchases, subscriptions, refunds and the built-in test processor's ledger (DESIGN.md "Teams,
 * payments and refunds"). Money is integer cents in bigint columns, read as JS numbers: every amount
 * is bounded far below 2^53 (api/payments/money.ts), so the arithmetic is exact. Never published:
 * these tables are not in the cdc publication.
 */

const instant = (name: string) => timestamp(name, { precision: 3, mode: 'date' });
/** Integer cents; bounded by api/payments/money.ts (maxAmountCents), so exact as a JS number. */
const cents = (name: string) => bigint(name, { mode: 'number' });

const tenancyFk = (name: string, column: PgColumn) => foreignKey({ name, columns: [column], foreignColumns: [tenancy.id] }).onDelete('cascade');

/** A checkout started for a customer: completing it (through the processor) makes the purchase. */
export const purchaseSession = pgTable(
  'PurchaseSession',
  {
    id: uuid('id').primaryKey(),
    tenancyId: uuid('tenancyId').notNull(),
    /** sha256 (hex) of the code in the purchase URL: the code is a bearer secret, never stored. */
    codeHash: text('codeHash').notNull(),
    customerType: text('customerType').notNull(),
    customerId: text('customerId').notNull(),
    productId: text('productId').notNull(),
    /** The product as the catalogue had it when the session started (schema/payment-config.ts). */
    product: jsonb('product').notNull(),
    quantity: integer('quantity').notNull(),
    createdAt: instant('createdAt').notNull().defaultNow(),
    expiresAt: instant('expiresAt').notNull(),
    completedAt: instant('completedAt'),
    /** What completing it made: a one-time purchase's or a subscription's id. */
    purchaseId: uuid('purchaseId'),
  },
  (table) => [
    tenancyFk('PurchaseSession_tenancyId_fkey', table.tenancyId),
    uniqueIndex('PurchaseSession_codeHash_key').on(table.codeHash),
    check('PurchaseSession_quantity_check', sql`${table.quantity} > 0`),
  ],
);

export const oneTimePurchase = pgTable(
  'OneTimePurchase',
  {
    id: uuid('id').primaryKey(),
    tenancyId: uuid('tenancyId').notNull(),
    customerType: text('customerType').notNull(),
    customerId: text('customerId').notNull(),
    productId: text('productId').notNull(),
    productDisplayName: text('productDisplayName').notNull(),
    quantity: integer('quantity').notNull(),
    /** 'USD', or NULL when nothing was charged (test mode). */
    currency: text('currency'),
    /** What the processor charged, in cents of `currency`. */
    chargedCents: cents('chargedCents').notNull(),
    /** Granted without any charge (project in test mode, or granted by the server): never refundable. */
    testMode: boolean('testMode').notNull(),
    processorChargeId: text('processorChargeId'),
    /** Set when the refund is recorded: from then on the purchase grants nothing. */
    refundedAt: instant('refundedAt'),
    createdAt: instant('createdAt').notNull().defaultNow(),
  },
  (table) => [
    tenancyFk('OneTimePurchase_tenancyId_fkey', table.tenancyId),
    index('OneTimePurchase_customer_idx').on(table.tenancyId, table.customerType, table.customerId),
    index('OneTimePurchase_createdAt_idx').on(table.tenancyId, table.createdAt),
    check('OneTimePurchase_amounts_check', sql`${table.quantity} >= 0 AND ${table.chargedCents} >= 0`),
  ],
);

export const subscription = pgTable(
  'Subscription',
  {
    id: uuid('id').primaryKey(),
    tenancyId: uuid('tenancyId').notNull(),
    customerType: text('customerType').notNull(),
    customerId: text('customerId').notNull(),
    productId: text('productId').notNull(),
    productDisplayName: text('productDisplayName').notNull(),
    /** Units subscribed now: a refund decreases it; at 0 the subscription ends with its period. */
    quantity: integer('quantity').notNull(),
    /** 'month' | 'year'. */
    interval: text('interval').notNull(),
    /** 'active' | 'canceled'. */
    status: text('status').notNull(),
    currentPeriodStart: instant('currentPeriodStart').notNull(),
    currentPeriodEnd: instant('currentPeriodEnd').notNull(),
    cancelAtPeriodEnd: boolean('cancelAtPeriodEnd').notNull().default(false),
    testMode: boolean('testMode').notNull(),
    createdAt: instant('createdAt').notNull().defaultNow(),
  },
  (table) => [
    tenancyFk('Subscription_tenancyId_fkey', table.tenancyId),
    index('Subscription_customer_idx').on(table.tenancyId, table.customerType, table.customerId),
    check('Subscription_quantity_check', sql`${table.quantity} >= 0`),
    check('Subscription_status_check', sql`${table.status} IN ('active', 'canceled')`),
  ],
);

/** What one billing period of a subscription charged. */
export const subscriptionInvoice = pgTable(
  'SubscriptionInvoice',
  {
    id: uuid('id').primaryKey(),
    tenancyId: uuid('tenancyId').notNull(),
    subscriptionId: uuid('subscriptionId').notNull(),
    currency: text('currency'),
    chargedCents: cents('chargedCents').notNull(),
    processorChargeId: text('processorChargeId'),
    periodStart: instant('periodStart').notNull(),
    periodEnd: instant('periodEnd').notNull(),
    createdAt: instant('createdAt').notNull().defaultNow(),
  },
  (table) => [
    tenancyFk('SubscriptionInvoice_tenancyId_fkey', table.tenancyId),
    foreignKey({ name: 'SubscriptionInvoice_subscriptionId_fkey', columns: [table.subscriptionId], foreignColumns: [subscription.id] }).onDelete('cascade'),
    index('SubscriptionInvoice_subscription_idx').on(table.subscriptionId, table.createdAt),
    index('SubscriptionInvoice_createdAt_idx').on(table.tenancyId, table.createdAt),
    check('SubscriptionInvoice_amount_check', sql`${table.chargedCents} >= 0`),
  ],
);

/**
 * The entries of a purchase, in order: index 0 grants the product (quantity, unit price), the next
 * ones the items it includes. `purchaseId` is a one-time purchase's or a subscription's id.
 */
export const purchaseEntry = pgTable(
  'PurchaseEntry',
  {
    tenancyId: uuid('tenancyId').notNull(),
    purchaseId: uuid('purchaseId').notNull(),
    entryIndex: integer('entryIndex').notNull(),
    /** 'product_grant' | 'item_quantity_change'. */
    type: text('type').notNull(),
    productId: text('productId'),
    itemId: text('itemId'),
    quantity: integer('quantity').notNull(),
    /** USD cents of one unit (product grants only). */
    unitPriceCents: cents('unitPriceCents'),
    /** USD cents of the whole entry: unit price × quantity (product grants only). */
    amountCents: cents('amountCents'),
  },
  (table) => [
    primaryKey({ name: 'PurchaseEntry_pkey', columns: [table.purchaseId, table.entryIndex] }),
    tenancyFk('PurchaseEntry_tenancyId_fkey', table.tenancyId),
    check('PurchaseEntry_type_check', sql`${table.type} IN ('product_grant', 'item_quantity_change')`),
  ],
);

/**
 * A refund. The unique index on `purchaseId` is what makes "refunded at most once" hold across
 * processes; `idempotencyKey` is what the processor was asked with, so a retry cannot refund twice.
 */
export const purchaseRefund = pgTable(
  'PurchaseRefund',
  {
    id: uuid('id').primaryKey(),
    tenancyId: uuid('tenancyId').notNull(),
    /** 'one-time-purchase' | 'subscription'. */
    purchaseType: text('purchaseType').notNull(),
    purchaseId: uuid('purchaseId').notNull(),
    /** The subscription invoice refunded (subscriptions only). */
    invoiceId: uuid('invoiceId'),
    amountCents: cents('amountCents').notNull(),
    idempotencyKey: text('idempotencyKey').notNull(),
    processorRefundId: text('processorRefundId'),
    createdAt: instant('createdAt').notNull().defaultNow(),
  },
  (table) => [
    tenancyFk('PurchaseRefund_tenancyId_fkey', table.tenancyId),
    uniqueIndex('PurchaseRefund_purchaseId_key').on(table.purchaseId),
    uniqueIndex('PurchaseRefund_idempotencyKey_key').on(table.idempotencyKey),
    check('PurchaseRefund_amount_check', sql`${table.amountCents} >= 0`),
  ],
);

export const purchaseRefundEntry = pgTable(
  'PurchaseRefundEntry',
  {
    refundId: uuid('refundId').notNull(),
    entryIndex: integer('entryIndex').notNull(),
    quantity: integer('quantity').notNull(),
    amountCents: cents('amountCents').notNull(),
  },
  (table) => [
    primaryKey({ name: 'PurchaseRefundEntry_pkey', columns: [table.refundId, table.entryIndex] }),
    foreignKey({ name: 'PurchaseRefundEntry_refundId_fkey', columns: [table.refundId], foreignColumns: [purchaseRefund.id] }).onDelete('cascade'),
  ],
);

/** Charges the built-in test processor made (api/payments/postgres-test-processor.ts). */
export const testProcessorCharge = pgTable(
  'TestProcessorCharge',
  {
    id: uuid('id').primaryKey(),
    tenancyId: uuid('tenancyId').notNull(),
    currency: text('currency').notNull(),
    amountCents: cents('amountCents').notNull(),
    description: text('description').notNull(),
    idempotencyKey: text('idempotencyKey').notNull(),
    createdAt: instant('createdAt').notNull().defaultNow(),
  },
  (table) => [
    tenancyFk('TestProcessorCharge_tenancyId_fkey', table.tenancyId),
    uniqueIndex('TestProcessorCharge_idempotencyKey_key').on(table.tenancyId, table.idempotencyKey),
  ],
);

export const testProcessorRefund = pgTable(
  'TestProcessorRefund',
  {
    id: uuid('id').primaryKey(),
    tenancyId: uuid('tenancyId').notNull(),
    chargeId: uuid('chargeId').notNull(),
    amountCents: cents('amountCents').notNull(),
    idempotencyKey: text('idempotencyKey').notNull(),
    createdAt: instant('createdAt').notNull().defaultNow(),
  },
  (table) => [
    tenancyFk('TestProcessorRefund_tenancyId_fkey', table.tenancyId),
    foreignKey({ name: 'TestProcessorRefund_chargeId_fkey', columns: [table.chargeId], foreignColumns: [testProcessorCharge.id] }).onDelete('cascade'),
    uniqueIndex('TestProcessorRefund_idempotencyKey_key').on(table.tenancyId, table.idempotencyKey),
  ],
);

/**
 * Faults the test processor plays, so that a tenant (and our tests) can see how its integration
 * behaves when a card processor misbehaves: `unavailable` refuses the next `remaining` calls of
 * `operation` before doing anything; `lost_response` does the work, then fails as a timeout would.
 */
export const testProcessorFault = pgTable(
  'TestProcessorFault',
  {
    tenancyId: uuid('tenancyId').notNull(),
    /** 'charge' | 'refund'. */
    operation: text('operation').notNull(),
    /** 'unavailable' | 'lost_response'. */
    mode: text('mode').notNull(),
    remaining: integer('remaining').notNull(),
  },
  (table) => [
    primaryKey({ name: 'TestProcessorFault_pkey', columns: [table.tenancyId, table.operation] }),
    tenancyFk('TestProcessorFault_tenancyId_fkey', table.tenancyId),
    check('TestProcessorFault_operation_check', sql`${table.operation} IN ('charge', 'refund')`),
    check('TestProcessorFault_mode_check', sql`${table.mode} IN ('unavailable', 'lost_response')`),
  ],
);
