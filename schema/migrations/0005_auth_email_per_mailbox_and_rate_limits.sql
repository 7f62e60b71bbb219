-- One account per mailbox (hand-written before the generated statements below). Email addresses are
-- stored trimmed and lower-cased from now on. Where two sign-in channels of a tenancy hold the same
-- address in different letter cases, one keeps signing in (a verified one first, then the oldest)
-- and the others stop being used for sign-in ("usedForAuth" NULL, the address stays on the user);
-- the migration reports them in a NOTICE naming tenancy and channel ids (the first 100).
DO $$
DECLARE
  demoted integer;
  examples text;
BEGIN
  WITH ranked AS (
    SELECT "tenancyId", "projectUserId", id,
           row_number() OVER (
             PARTITION BY "tenancyId", lower(btrim(value, E' \t\r\n'))
             ORDER BY "isVerified" DESC, "createdAt", id
           ) AS rank
    FROM "ContactChannel"
    WHERE type = 'EMAIL' AND "usedForAuth" = 'TRUE'
  ), demoted_rows AS (
    UPDATE "ContactChannel" AS channel
    SET "usedForAuth" = NULL, "updatedAt" = now()
    FROM ranked
    WHERE ranked.rank > 1
      AND channel."tenancyId" = ranked."tenancyId"
      AND channel."projectUserId" = ranked."projectUserId"
      AND channel.id = ranked.id
    RETURNING channel."tenancyId", channel.id
  )
  SELECT (SELECT count(*) FROM demoted_rows),
         (SELECT string_agg(listed."tenancyId" || '/' || listed.id, ', ') FROM (SELECT * FROM demoted_rows LIMIT 100) AS listed)
  INTO demoted, examples;
  IF demoted > 0 THEN
    RAISE NOTICE 'AUTH_EMAIL_CONFLICT: % sign-in email channel(s) differed only in letter case from another one of the same tenancy and are no longer used for sign-in (tenancy/channel): %', demoted, examples;
  END IF;
END $$;
--> statement-breakpoint
UPDATE "ContactChannel"
SET value = lower(btrim(value, E' \t\r\n')), "updatedAt" = now()
WHERE type = 'EMAIL' AND value <> lower(btrim(value, E' \t\r\n'));
--> statement-breakpoint
CREATE TABLE "RateLimitCounter" (
	"key" varchar(255) PRIMARY KEY NOT NULL,
	"points" integer DEFAULT 0 NOT NULL,
	"expire" bigint
);
--> statement-breakpoint
CREATE UNIQUE INDEX "ContactChannel_auth_email_key" ON "ContactChannel" USING btree ("tenancyId",lower("value")) WHERE "ContactChannel"."type" = 'EMAIL' AND "ContactChannel"."usedForAuth" = 'TRUE';