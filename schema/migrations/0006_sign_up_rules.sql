CREATE TABLE "SignUpRuleTrigger" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"projectId" text NOT NULL,
	"tenancyId" uuid NOT NULL,
	"ruleId" text NOT NULL,
	"action" text NOT NULL,
	"outcome" text NOT NULL,
	"authMethod" text NOT NULL,
	"oauthProvider" text DEFAULT '' NOT NULL,
	"triggeredAt" timestamp (3) NOT NULL,
	CONSTRAINT "SignUpRuleTrigger_action_check" CHECK ("SignUpRuleTrigger"."action" IN ('allow', 'reject', 'restrict', 'log')),
	CONSTRAINT "SignUpRuleTrigger_outcome_check" CHECK ("SignUpRuleTrigger"."outcome" IN ('matched', 'error'))
);
--> statement-breakpoint
ALTER TABLE "SignUpRuleTrigger" ADD CONSTRAINT "SignUpRuleTrigger_tenancyId_fkey" FOREIGN KEY ("tenancyId") REFERENCES "public"."Tenancy"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "SignUpRuleTrigger_tenancyId_triggeredAt_idx" ON "SignUpRuleTrigger" USING btree ("tenancyId","triggeredAt");