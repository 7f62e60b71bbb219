import { z } from 'zod';
import { catalogueIdSchema, customerTypes, productIntervals, type PaymentsConfig, type StoredProduct } from '../../schema/payment-config';
import { formatUsd, parseUsd } from './money';

/** At most this many items, and as many products, per project. */
export const maxCatalogueEntries = 500;

const usdPrice = z.string().superRefine((text, context) => {
  const parsed = parseUsd(text);
  if (!parsed.ok) context.addIssue({ code: 'custom', message: parsed.problem });
});

export const itemInput = z.strictObject({
  display_name: z.string().max(200).default(''),
  customer_type: z.enum(customerTypes),
});

export const productInput = z.strictObject({
  display_name: z.string().max(200).default(''),
  customer_type: z.enum(customerTypes),
  /** USD of one unit as a decimal string: "12.5" is $12.50. */
  price_usd: usdPrice,
  interval: z.enum(productIntervals).default('one-time'),
  included_items: z.record(z.string(), z.strictObject({ quantity: z.int().min(0).max(1_000_000) })).default({}),
});

function idsChecked<Value>(what: string) {
  return (record: Record<string, Value>, context: z.RefinementCtx) => {
    const ids = Object.keys(record);
    if (ids.length > maxCatalogueEntries) context.addIssue({ code: 'custom', message: `at most ${maxCatalogueEntries} ${what}s` });
    for (const id of ids) {
      const parsed = catalogueIdSchema.safeParse(id);
      if (!parsed.success) context.addIssue({ code: 'custom', path: [id], message: `${what} id ${JSON.stringify(id.slice(0, 80))}: ${parsed.error.issues[0]?.message ?? 'not allowed'}` });
    }
  };
}

/** `payments` of PATCH /internal/config: each field given replaces the current value. */
export const paymentsInput = z
  .strictObject({
    test_mode: z.boolean(),
    /** Replaces the whole set of items. */
    items: z.record(z.string(), itemInput).superRefine(idsChecked('item')),
    /** Replaces the whole set of products. */
    products: z.record(z.string(), productInput).superRefine(idsChecked('product')),
  })
  .partial();

export type PaymentsInput = z.infer<typeof paymentsInput>;

function storedProduct(input: z.infer<typeof productInput>): StoredProduct {
  const price = parseUsd(input.price_usd);
  // Validated by productInput already; refusing again keeps a float from ever being stored.
  if (!price.ok) throw new RangeError(price.problem);
  return {
    displayName: input.display_name,
    customerType: input.customer_type,
    priceCents: price.cents,
    interval: input.interval,
    includedItems: Object.fromEntries(Object.entries(input.included_items).map(([id, { quantity }]) => [id, { quantity }])),
  };
}

export function withPaymentsUpdate(current: PaymentsConfig, update: PaymentsInput | undefined): PaymentsConfig {
  if (!update) return current;
  return {
    testMode: update.test_mode ?? current.testMode,
    items: update.items
      ? Object.fromEntries(Object.entries(update.items).map(([id, item]) => [id, { displayName: item.display_name, customerType: item.customer_type }]))
      : current.items,
    products: update.products ? Object.fromEntries(Object.entries(update.products).map(([id, product]) => [id, storedProduct(product)])) : current.products,
  };
}

export interface CatalogueIssue {
  path: string;
  message: string;
}

/**
 * What is wrong with a catalogue as a whole (after an update is merged): a product granting an item
 * that does not exist, or one of another customer type than the product's.
 */
export function catalogueIssues(payments: PaymentsConfig): CatalogueIssue[] {
  const issues: CatalogueIssue[] = [];
  for (const [productId, product] of Object.entries(payments.products)) {
    for (const itemId of Object.keys(product.includedItems)) {
      const path = `payments.products.${productId}.included_items.${itemId}`;
      const item = payments.items[itemId];
      if (!item) issues.push({ path, message: `no item ${JSON.stringify(itemId)} in payments.items` });
      else if (item.customerType !== product.customerType) {
        issues.push({ path, message: `the item is for customers of type ${item.customerType}, the product for ${product.customerType}` });
      }
    }
  }
  return issues;
}

export function productView(product: StoredProduct): Record<string, unknown> {
  return {
    display_name: product.displayName,
    customer_type: product.customerType,
    price_usd: formatUsd(product.priceCents),
    interval: product.interval,
    included_items: product.includedItems,
  };
}

export function paymentsView(payments: PaymentsConfig): Record<string, unknown> {
  return {
    test_mode: payments.testMode,
    items: Object.fromEntries(Object.entries(payments.items).map(([id, item]) => [id, { display_name: item.displayName, customer_type: item.customerType }])),
    products: Object.fromEntries(Object.entries(payments.products).map(([id, product]) => [id, productView(product)])),
  };
}
