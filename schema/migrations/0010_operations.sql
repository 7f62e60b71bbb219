CREATE TABLE "SinkRebuild" (
	"id" bigint PRIMARY KEY GENERATED ALWAYS AS IDENTITY (sequence name "SinkRebuild_id_seq" INCREMENT BY 1 MINVALUE 1 MAXVALUE 9223372036854775807 START WITH 1 CACHE 1),
	"tenancyId" uuid NOT NULL,
	"databaseId" text NOT NULL,
	"state" text DEFAULT 'pending' NOT NULL,
	"recordsDone" bigint DEFAULT 0 NOT NULL,
	"recordsTotal" bigint,
	"snapshotId" bigint,
	"requestedAt" timestamp (3) DEFAULT now() NOT NULL,
	"finishedAt" timestamp (3)
);
--> statement-breakpoint
CREATE TABLE "SyncSwitch" (
	"scope" text NOT NULL,
	"projectId" text DEFAULT '' NOT NULL,
	"databaseId" text DEFAULT '' NOT NULL,
	"name" text NOT NULL,
	"enabled" boolean NOT NULL,
	"updatedAt" timestamp (3) DEFAULT now() NOT NULL,
	CONSTRAINT "SyncSwitch_pkey" PRIMARY KEY("scope","projectId","databaseId","name")
);
--> statement-breakpoint
ALTER TABLE "SinkDatabaseStatus" ADD COLUMN "oldestPendingAtMillis" bigint;--> statement-breakpoint
ALTER TABLE "SinkDatabaseStatus" ADD COLUMN "pendingEvents" bigint;--> statement-breakpoint
CREATE INDEX "SinkRebuild_database_idx" ON "SinkRebuild" USING btree ("tenancyId","databaseId");