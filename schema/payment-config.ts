import { z } from 'zod';

/**
 * The payments catalogue as stored in the project config (DESIGN.md "Teams, payments and refunds"):
 * items (what a customer holds a quantity of) and products (what is sold, for how much, granting
 * which items). Prices are integer USD cents here; the API shows them as decimal strings.
 */

export const customerTypes = ['user', 'team', 'custom'] as const;
export type CustomerType = (typeof customerTypes)[number];

export const productIntervals = ['one-time', 'month', 'year'] as const;
export type ProductInterval = (typeof productIntervals)[number];

/** Item and product ids appear in URLs: keep them simple. */
export const catalogueIdSchema = z.string().regex(/^[A-Za-z0-9_-]{1,64}$/, 'letters, digits, _ and - (at most 64)');

export const storedItemSchema = z.object({
  displayName: z.string(),
  customerType: z.enum(customerTypes),
});

export const storedProductSchema = z.object({
  displayName: z.string(),
  customerType: z.enum(customerTypes),
  /** USD cents of one unit. */
  priceCents: z.int().min(0),
  /** `one-time` is bought once; `month` / `year` make a subscription billed each period. */
  interval: z.enum(productIntervals),
  /** Items one unit grants, with their quantity per unit. */
  includedItems: z.record(catalogueIdSchema, z.object({ quantity: z.int().min(0) })),
});

export type StoredItem = z.infer<typeof storedItemSchema>;
export type StoredProduct = z.infer<typeof storedProductSchema>;

export const paymentsConfigSchema = z.object({
  /** Purchases are granted without any charge and marked test_mode (never refundable). */
  testMode: z.boolean().default(false),
  items: z.record(catalogueIdSchema, storedItemSchema).default({}),
  products: z.record(catalogueIdSchema, storedProductSchema).default({}),
});

export type PaymentsConfig = z.infer<typeof paymentsConfigSchema>;
