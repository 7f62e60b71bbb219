-- Hand-written: drizzle cannot express replica identity or publications.
-- REPLICA IDENTITY FULL puts whole before-images of updated and deleted rows in the WAL (and
-- unchanged TOASTed values in update after-images), so events carry `before` and sinks never need
-- to read back from the source.
ALTER TABLE "ProjectUser" REPLICA IDENTITY FULL;--> statement-breakpoint
ALTER TABLE "ContactChannel" REPLICA IDENTITY FULL;--> statement-breakpoint
-- The default publication of the cdc reader (CDC_PUBLICATION); the reader creates a differently
-- named one itself when configured so. TRUNCATE is not published: it would clear every tenancy's
-- rows at once; the API deletes rows instead.
DO $$
BEGIN
  IF NOT EXISTS (SELECT 1 FROM pg_publication WHERE pubname = 'stack_sync') THEN
    CREATE PUBLICATION stack_sync FOR TABLE "ProjectUser", "ContactChannel" WITH (publish = 'insert, update, delete');
  END IF;
END
$$;
