CREATE TYPE "public"."BooleanTrue" AS ENUM('TRUE');--> statement-breakpoint
CREATE TYPE "public"."ContactChannelType" AS ENUM('EMAIL', 'PHONE');--> statement-breakpoint
CREATE TABLE "ContactChannel" (
	"tenancyId" uuid NOT NULL,
	"projectUserId" uuid NOT NULL,
	"id" uuid NOT NULL,
	"type" "ContactChannelType" NOT NULL,
	"value" text NOT NULL,
	"isPrimary" "BooleanTrue",
	"usedForAuth" "BooleanTrue",
	"isVerified" boolean DEFAULT false NOT NULL,
	"createdAt" timestamp (3) DEFAULT now() NOT NULL,
	"updatedAt" timestamp (3) DEFAULT now() NOT NULL,
	CONSTRAINT "ContactChannel_pkey" PRIMARY KEY("tenancyId","projectUserId","id")
);
--> statement-breakpoint
CREATE TABLE "Project" (
	"id" text PRIMARY KEY NOT NULL,
	"displayName" text NOT NULL,
	"createdAt" timestamp (3) DEFAULT now() NOT NULL,
	"updatedAt" timestamp (3) DEFAULT now() NOT NULL,
	"publishableClientKeyHash" text NOT NULL,
	"secretServerKeyHash" text NOT NULL,
	"superSecretAdminKeyHash" text NOT NULL,
	"config" jsonb DEFAULT '{}'::jsonb NOT NULL
);
--> statement-breakpoint
CREATE TABLE "ProjectUser" (
	"tenancyId" uuid NOT NULL,
	"projectUserId" uuid NOT NULL,
	"displayName" text,
	"profileImageUrl" text,
	"clientMetadata" jsonb,
	"clientReadOnlyMetadata" jsonb,
	"serverMetadata" jsonb,
	"isAnonymous" boolean DEFAULT false NOT NULL,
	"createdAt" timestamp (3) DEFAULT now() NOT NULL,
	"updatedAt" timestamp (3) DEFAULT now() NOT NULL,
	"signedUpAt" timestamp (3) DEFAULT now() NOT NULL,
	"lastActiveAt" timestamp (3) DEFAULT now() NOT NULL,
	"restrictedByAdmin" boolean DEFAULT false NOT NULL,
	"restrictedByAdminReason" text,
	"restrictedByAdminPrivateDetails" text,
	CONSTRAINT "ProjectUser_pkey" PRIMARY KEY("tenancyId","projectUserId"),
	CONSTRAINT "ProjectUser_restricted_by_admin_consistency" CHECK ("ProjectUser"."restrictedByAdmin" OR ("ProjectUser"."restrictedByAdminReason" IS NULL AND "ProjectUser"."restrictedByAdminPrivateDetails" IS NULL))
);
--> statement-breakpoint
CREATE TABLE "Tenancy" (
	"id" uuid PRIMARY KEY NOT NULL,
	"projectId" text NOT NULL,
	"branchId" text NOT NULL
);
--> statement-breakpoint
ALTER TABLE "ContactChannel" ADD CONSTRAINT "ContactChannel_projectUser_fkey" FOREIGN KEY ("tenancyId","projectUserId") REFERENCES "public"."ProjectUser"("tenancyId","projectUserId") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "ProjectUser" ADD CONSTRAINT "ProjectUser_tenancyId_fkey" FOREIGN KEY ("tenancyId") REFERENCES "public"."Tenancy"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "Tenancy" ADD CONSTRAINT "Tenancy_projectId_fkey" FOREIGN KEY ("projectId") REFERENCES "public"."Project"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE UNIQUE INDEX "ContactChannel_primary_per_type_key" ON "ContactChannel" USING btree ("tenancyId","projectUserId","type","isPrimary");--> statement-breakpoint
CREATE UNIQUE INDEX "ContactChannel_auth_value_key" ON "ContactChannel" USING btree ("tenancyId","type","value","usedForAuth");--> statement-breakpoint
CREATE UNIQUE INDEX "Tenancy_projectId_branchId_key" ON "Tenancy" USING btree ("projectId","branchId");