CREATE TABLE "Team" (
	"tenancyId" uuid NOT NULL,
	"teamId" uuid NOT NULL,
	"displayName" text NOT NULL,
	"createdAt" timestamp (3) DEFAULT now() NOT NULL,
	CONSTRAINT "Team_pkey" PRIMARY KEY("tenancyId","teamId")
);
--> statement-breakpoint
CREATE TABLE "TeamMember" (
	"tenancyId" uuid NOT NULL,
	"teamId" uuid NOT NULL,
	"projectUserId" uuid NOT NULL,
	"isTeamAdmin" boolean DEFAULT false NOT NULL,
	"createdAt" timestamp (3) DEFAULT now() NOT NULL,
	CONSTRAINT "TeamMember_pkey" PRIMARY KEY("tenancyId","teamId","projectUserId")
);
--> statement-breakpoint
CREATE TABLE "OneTimePurchase" (
	"id" uuid PRIMARY KEY NOT NULL,
	"tenancyId" uuid NOT NULL,
	"customerType" text NOT NULL,
	"customerId" text NOT NULL,
	"productId" text NOT NULL,
	"productDisplayName" text NOT NULL,
	"quantity" integer NOT NULL,
	"currency" text,
	"chargedCents" bigint NOT NULL,
	"testMode" boolean NOT NULL,
	"processorChargeId" text,
	"refundedAt" timestamp (3),
	"createdAt" timestamp (3) DEFAULT now() NOT NULL,
	CONSTRAINT "OneTimePurchase_amounts_check" CHECK ("OneTimePurchase"."quantity" >= 0 AND "OneTimePurchase"."chargedCents" >= 0)
);
--> statement-breakpoint
CREATE TABLE "PurchaseEntry" (
	"tenancyId" uuid NOT NULL,
	"purchaseId" uuid NOT NULL,
	"entryIndex" integer NOT NULL,
	"type" text NOT NULL,
	"productId" text,
	"itemId" text,
	"quantity" integer NOT NULL,
	"unitPriceCents" bigint,
	"amountCents" bigint,
	CONSTRAINT "PurchaseEntry_pkey" PRIMARY KEY("purchaseId","entryIndex"),
	CONSTRAINT "PurchaseEntry_type_check" CHECK ("PurchaseEntry"."type" IN ('product_grant', 'item_quantity_change'))
);
--> statement-breakpoint
CREATE TABLE "PurchaseRefund" (
	"id" uuid PRIMARY KEY NOT NULL,
	"tenancyId" uuid NOT NULL,
	"purchaseType" text NOT NULL,
	"purchaseId" uuid NOT NULL,
	"invoiceId" uuid,
	"amountCents" bigint NOT NULL,
	"idempotencyKey" text NOT NULL,
	"processorRefundId" text,
	"createdAt" timestamp (3) DEFAULT now() NOT NULL,
	CONSTRAINT "PurchaseRefund_amount_check" CHECK ("PurchaseRefund"."amountCents" >= 0)
);
--> statement-breakpoint
CREATE TABLE "PurchaseRefundEntry" (
	"refundId" uuid NOT NULL,
	"entryIndex" integer NOT NULL,
	"quantity" integer NOT NULL,
	"amountCents" bigint NOT NULL,
	CONSTRAINT "PurchaseRefundEntry_pkey" PRIMARY KEY("refundId","entryIndex")
);
--> statement-breakpoint
CREATE TABLE "PurchaseSession" (
	"id" uuid PRIMARY KEY NOT NULL,
	"tenancyId" uuid NOT NULL,
	"codeHash" text NOT NULL,
	"customerType" text NOT NULL,
	"customerId" text NOT NULL,
	"productId" text NOT NULL,
	"product" jsonb NOT NULL,
	"quantity" integer NOT NULL,
	"createdAt" timestamp (3) DEFAULT now() NOT NULL,
	"expiresAt" timestamp (3) NOT NULL,
	"completedAt" timestamp (3),
	"purchaseId" uuid,
	CONSTRAINT "PurchaseSession_quantity_check" CHECK ("PurchaseSession"."quantity" > 0)
);
--> statement-breakpoint
CREATE TABLE "Subscription" (
	"id" uuid PRIMARY KEY NOT NULL,
	"tenancyId" uuid NOT NULL,
	"customerType" text NOT NULL,
	"customerId" text NOT NULL,
	"productId" text NOT NULL,
	"productDisplayName" text NOT NULL,
	"quantity" integer NOT NULL,
	"interval" text NOT NULL,
	"status" text NOT NULL,
	"currentPeriodStart" timestamp (3) NOT NULL,
	"currentPeriodEnd" timestamp (3) NOT NULL,
	"cancelAtPeriodEnd" boolean DEFAULT false NOT NULL,
	"testMode" boolean NOT NULL,
	"createdAt" timestamp (3) DEFAULT now() NOT NULL,
	CONSTRAINT "Subscription_quantity_check" CHECK ("Subscription"."quantity" >= 0),
	CONSTRAINT "Subscription_status_check" CHECK ("Subscription"."status" IN ('active', 'canceled'))
);
--> statement-breakpoint
CREATE TABLE "SubscriptionInvoice" (
	"id" uuid PRIMARY KEY NOT NULL,
	"tenancyId" uuid NOT NULL,
	"subscriptionId" uuid NOT NULL,
	"currency" text,
	"chargedCents" bigint NOT NULL,
	"processorChargeId" text,
	"periodStart" timestamp (3) NOT NULL,
	"periodEnd" timestamp (3) NOT NULL,
	"createdAt" timestamp (3) DEFAULT now() NOT NULL,
	CONSTRAINT "SubscriptionInvoice_amount_check" CHECK ("SubscriptionInvoice"."chargedCents" >= 0)
);
--> statement-breakpoint
CREATE TABLE "TestProcessorCharge" (
	"id" uuid PRIMARY KEY NOT NULL,
	"tenancyId" uuid NOT NULL,
	"currency" text NOT NULL,
	"amountCents" bigint NOT NULL,
	"description" text NOT NULL,
	"idempotencyKey" text NOT NULL,
	"createdAt" timestamp (3) DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "TestProcessorFault" (
	"tenancyId" uuid NOT NULL,
	"operation" text NOT NULL,
	"mode" text NOT NULL,
	"remaining" integer NOT NULL,
	CONSTRAINT "TestProcessorFault_pkey" PRIMARY KEY("tenancyId","operation"),
	CONSTRAINT "TestProcessorFault_operation_check" CHECK ("TestProcessorFault"."operation" IN ('charge', 'refund')),
	CONSTRAINT "TestProcessorFault_mode_check" CHECK ("TestProcessorFault"."mode" IN ('unavailable', 'lost_response'))
);
--> statement-breakpoint
CREATE TABLE "TestProcessorRefund" (
	"id" uuid PRIMARY KEY NOT NULL,
	"tenancyId" uuid NOT NULL,
	"chargeId" uuid NOT NULL,
	"amountCents" bigint NOT NULL,
	"idempotencyKey" text NOT NULL,
	"createdAt" timestamp (3) DEFAULT now() NOT NULL
);
--> statement-breakpoint
ALTER TABLE "Team" ADD CONSTRAINT "Team_tenancyId_fkey" FOREIGN KEY ("tenancyId") REFERENCES "public"."Tenancy"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "TeamMember" ADD CONSTRAINT "TeamMember_team_fkey" FOREIGN KEY ("tenancyId","teamId") REFERENCES "public"."Team"("tenancyId","teamId") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "TeamMember" ADD CONSTRAINT "TeamMember_projectUser_fkey" FOREIGN KEY ("tenancyId","projectUserId") REFERENCES "public"."ProjectUser"("tenancyId","projectUserId") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "OneTimePurchase" ADD CONSTRAINT "OneTimePurchase_tenancyId_fkey" FOREIGN KEY ("tenancyId") REFERENCES "public"."Tenancy"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "PurchaseEntry" ADD CONSTRAINT "PurchaseEntry_tenancyId_fkey" FOREIGN KEY ("tenancyId") REFERENCES "public"."Tenancy"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "PurchaseRefund" ADD CONSTRAINT "PurchaseRefund_tenancyId_fkey" FOREIGN KEY ("tenancyId") REFERENCES "public"."Tenancy"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "PurchaseRefundEntry" ADD CONSTRAINT "PurchaseRefundEntry_refundId_fkey" FOREIGN KEY ("refundId") REFERENCES "public"."PurchaseRefund"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "PurchaseSession" ADD CONSTRAINT "PurchaseSession_tenancyId_fkey" FOREIGN KEY ("tenancyId") REFERENCES "public"."Tenancy"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "Subscription" ADD CONSTRAINT "Subscription_tenancyId_fkey" FOREIGN KEY ("tenancyId") REFERENCES "public"."Tenancy"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "SubscriptionInvoice" ADD CONSTRAINT "SubscriptionInvoice_tenancyId_fkey" FOREIGN KEY ("tenancyId") REFERENCES "public"."Tenancy"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "SubscriptionInvoice" ADD CONSTRAINT "SubscriptionInvoice_subscriptionId_fkey" FOREIGN KEY ("subscriptionId") REFERENCES "public"."Subscription"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "TestProcessorCharge" ADD CONSTRAINT "TestProcessorCharge_tenancyId_fkey" FOREIGN KEY ("tenancyId") REFERENCES "public"."Tenancy"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "TestProcessorFault" ADD CONSTRAINT "TestProcessorFault_tenancyId_fkey" FOREIGN KEY ("tenancyId") REFERENCES "public"."Tenancy"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "TestProcessorRefund" ADD CONSTRAINT "TestProcessorRefund_tenancyId_fkey" FOREIGN KEY ("tenancyId") REFERENCES "public"."Tenancy"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "TestProcessorRefund" ADD CONSTRAINT "TestProcessorRefund_chargeId_fkey" FOREIGN KEY ("chargeId") REFERENCES "public"."TestProcessorCharge"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "TeamMember_user_idx" ON "TeamMember" USING btree ("tenancyId","projectUserId");--> statement-breakpoint
CREATE INDEX "OneTimePurchase_customer_idx" ON "OneTimePurchase" USING btree ("tenancyId","customerType","customerId");--> statement-breakpoint
CREATE INDEX "OneTimePurchase_createdAt_idx" ON "OneTimePurchase" USING btree ("tenancyId","createdAt");--> statement-breakpoint
CREATE UNIQUE INDEX "PurchaseRefund_purchaseId_key" ON "PurchaseRefund" USING btree ("purchaseId");--> statement-breakpoint
CREATE UNIQUE INDEX "PurchaseRefund_idempotencyKey_key" ON "PurchaseRefund" USING btree ("idempotencyKey");--> statement-breakpoint
CREATE UNIQUE INDEX "PurchaseSession_codeHash_key" ON "PurchaseSession" USING btree ("codeHash");--> statement-breakpoint
CREATE INDEX "Subscription_customer_idx" ON "Subscription" USING btree ("tenancyId","customerType","customerId");--> statement-breakpoint
CREATE INDEX "SubscriptionInvoice_subscription_idx" ON "SubscriptionInvoice" USING btree ("subscriptionId","createdAt");--> statement-breakpoint
CREATE INDEX "SubscriptionInvoice_createdAt_idx" ON "SubscriptionInvoice" USING btree ("tenancyId","createdAt");--> statement-breakpoint
CREATE UNIQUE INDEX "TestProcessorCharge_idempotencyKey_key" ON "TestProcessorCharge" USING btree ("tenancyId","idempotencyKey");--> statement-breakpoint
CREATE UNIQUE INDEX "TestProcessorRefund_idempotencyKey_key" ON "TestProcessorRefund" USING btree ("tenancyId","idempotencyKey");