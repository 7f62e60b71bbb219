ALTER TABLE "SinkDatabaseStatus" ADD COLUMN "usersTable" jsonb;--> statement-breakpoint
ALTER TABLE "SinkDatabaseStatus" ADD COLUMN "topicHighOffset" bigint;