CREATE TABLE "CdcSlot" (
	"slotName" text PRIMARY KEY NOT NULL,
	"createdAtLsn" text NOT NULL,
	"createdAt" timestamp (3) DEFAULT now() NOT NULL
);
