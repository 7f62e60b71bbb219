CREATE TABLE "SinkDatabaseStatus" (
	"tenancyId" uuid NOT NULL,
	"databaseId" text NOT NULL,
	"state" text NOT NULL,
	"appliedOffset" bigint NOT NULL,
	"lastError" jsonb,
	"reportedBy" text NOT NULL,
	"reportedAt" timestamp (3) DEFAULT now() NOT NULL,
	CONSTRAINT "SinkDatabaseStatus_pkey" PRIMARY KEY("tenancyId","databaseId")
);
