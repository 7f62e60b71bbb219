CREATE TABLE "AuthSession" (
	"id" uuid PRIMARY KEY NOT NULL,
	"tenancyId" uuid NOT NULL,
	"projectUserId" uuid NOT NULL,
	"createdAt" timestamp (3) DEFAULT now() NOT NULL,
	"revokedAt" timestamp (3),
	"revokedReason" text
);
--> statement-breakpoint
CREATE TABLE "EmailOutbox" (
	"id" uuid PRIMARY KEY NOT NULL,
	"tenancyId" uuid NOT NULL,
	"recipient" text NOT NULL,
	"subject" text NOT NULL,
	"body" text NOT NULL,
	"createdAt" timestamp (3) DEFAULT now() NOT NULL,
	"sentAt" timestamp (3)
);
--> statement-breakpoint
CREATE TABLE "OAuthAccount" (
	"tenancyId" uuid NOT NULL,
	"provider" text NOT NULL,
	"providerAccountId" text NOT NULL,
	"projectUserId" uuid NOT NULL,
	"email" text,
	"createdAt" timestamp (3) DEFAULT now() NOT NULL,
	CONSTRAINT "OAuthAccount_pkey" PRIMARY KEY("tenancyId","provider","providerAccountId")
);
--> statement-breakpoint
CREATE TABLE "OtpCode" (
	"id" uuid PRIMARY KEY NOT NULL,
	"tenancyId" uuid NOT NULL,
	"email" text NOT NULL,
	"codeHash" text NOT NULL,
	"createdAt" timestamp (3) DEFAULT now() NOT NULL,
	"expiresAt" timestamp (3) NOT NULL,
	"usedAt" timestamp (3),
	"failedAttempts" integer DEFAULT 0 NOT NULL
);
--> statement-breakpoint
CREATE TABLE "PasswordCredential" (
	"tenancyId" uuid NOT NULL,
	"projectUserId" uuid NOT NULL,
	"passwordHash" text NOT NULL,
	"createdAt" timestamp (3) DEFAULT now() NOT NULL,
	"updatedAt" timestamp (3) DEFAULT now() NOT NULL,
	CONSTRAINT "PasswordCredential_pkey" PRIMARY KEY("tenancyId","projectUserId")
);
--> statement-breakpoint
CREATE TABLE "RefreshToken" (
	"id" uuid PRIMARY KEY NOT NULL,
	"sessionId" uuid NOT NULL,
	"tokenHash" text NOT NULL,
	"createdAt" timestamp (3) DEFAULT now() NOT NULL,
	"expiresAt" timestamp (3) NOT NULL,
	"usedAt" timestamp (3)
);
--> statement-breakpoint
CREATE TABLE "SigningKey" (
	"kid" text PRIMARY KEY NOT NULL,
	"projectId" text NOT NULL,
	"privateJwkSealed" text NOT NULL,
	"publicJwk" jsonb NOT NULL,
	"createdAt" timestamp (3) DEFAULT now() NOT NULL,
	"retiredAt" timestamp (3)
);
--> statement-breakpoint
ALTER TABLE "AuthSession" ADD CONSTRAINT "AuthSession_projectUser_fkey" FOREIGN KEY ("tenancyId","projectUserId") REFERENCES "public"."ProjectUser"("tenancyId","projectUserId") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "EmailOutbox" ADD CONSTRAINT "EmailOutbox_tenancy_fkey" FOREIGN KEY ("tenancyId") REFERENCES "public"."Tenancy"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "OAuthAccount" ADD CONSTRAINT "OAuthAccount_projectUser_fkey" FOREIGN KEY ("tenancyId","projectUserId") REFERENCES "public"."ProjectUser"("tenancyId","projectUserId") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "OtpCode" ADD CONSTRAINT "OtpCode_tenancy_fkey" FOREIGN KEY ("tenancyId") REFERENCES "public"."Tenancy"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "PasswordCredential" ADD CONSTRAINT "PasswordCredential_projectUser_fkey" FOREIGN KEY ("tenancyId","projectUserId") REFERENCES "public"."ProjectUser"("tenancyId","projectUserId") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "RefreshToken" ADD CONSTRAINT "RefreshToken_session_fkey" FOREIGN KEY ("sessionId") REFERENCES "public"."AuthSession"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "SigningKey" ADD CONSTRAINT "SigningKey_project_fkey" FOREIGN KEY ("projectId") REFERENCES "public"."Project"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "EmailOutbox_tenancy_created_idx" ON "EmailOutbox" USING btree ("tenancyId","createdAt");--> statement-breakpoint
CREATE UNIQUE INDEX "RefreshToken_tokenHash_key" ON "RefreshToken" USING btree ("tokenHash");--> statement-breakpoint
CREATE INDEX "SigningKey_projectId_idx" ON "SigningKey" USING btree ("projectId");