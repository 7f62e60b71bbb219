CREATE TABLE "CdcSnapshot" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"slotName" text NOT NULL,
	"tenancyId" uuid,
	"sourceTable" text DEFAULT 'ProjectUser' NOT NULL,
	"lastKey" jsonb,
	"state" text DEFAULT 'pending' NOT NULL,
	"requestedAt" timestamp (3) DEFAULT now() NOT NULL,
	"doneAt" timestamp (3)
);
