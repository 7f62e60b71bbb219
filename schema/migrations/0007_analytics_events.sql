CREATE TABLE "AnalyticsEvent" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"tenancyId" uuid NOT NULL,
	"projectId" text NOT NULL,
	"type" text NOT NULL,
	"projectUserId" uuid,
	"createdAt" timestamp (3) with time zone DEFAULT now() NOT NULL,
	"data" jsonb DEFAULT '{}'::jsonb NOT NULL
);
--> statement-breakpoint
CREATE TABLE "AnalyticsQuery" (
	"id" uuid PRIMARY KEY NOT NULL,
	"tenancyId" uuid NOT NULL,
	"outcome" text NOT NULL,
	"wallClockMs" double precision NOT NULL,
	"cpuTimeMs" double precision NOT NULL,
	"rowCount" integer NOT NULL,
	"createdAt" timestamp (3) with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
ALTER TABLE "AnalyticsEvent" ADD CONSTRAINT "AnalyticsEvent_tenancy_fkey" FOREIGN KEY ("tenancyId") REFERENCES "public"."Tenancy"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "AnalyticsQuery" ADD CONSTRAINT "AnalyticsQuery_tenancy_fkey" FOREIGN KEY ("tenancyId") REFERENCES "public"."Tenancy"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "AnalyticsEvent_tenancy_time_idx" ON "AnalyticsEvent" USING btree ("tenancyId","createdAt");--> statement-breakpoint
CREATE INDEX "AnalyticsEvent_tenancy_type_time_idx" ON "AnalyticsEvent" USING btree ("tenancyId","type","createdAt");--> statement-breakpoint
CREATE INDEX "AnalyticsQuery_tenancy_idx" ON "AnalyticsQuery" USING btree ("tenancyId","createdAt");--> statement-breakpoint
-- Hand-written from here: the sandbox analytics queries run in (api/analytics/query-runner.ts).
-- A query runs as stack_analytics_query (SET LOCAL ROLE) in a read-only transaction. That role owns
-- nothing and may read one thing: the view analytics.events, which shows the rows of the tenancy
-- named by the setting stack_analytics.tenancy_id (set by the API with SET LOCAL before the role
-- switch). The query text can only be one SELECT (it becomes a cursor), so it cannot run SET,
-- RESET, SET ROLE or SET SESSION AUTHORIZATION; the one function that changes settings from a
-- SELECT, set_config, is revoked from PUBLIC below — without that, set_config('role', …) would
-- switch back to the API's own role and set_config('stack_analytics.tenancy_id', …) to another
-- project. Roles are per cluster, so the role may already exist (another database of the cluster).
DO $$
BEGIN
  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'stack_analytics_query') THEN
    CREATE ROLE stack_analytics_query NOLOGIN NOINHERIT NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS;
  END IF;
END $$;
--> statement-breakpoint
-- The API's role must be allowed to SET ROLE to it (a superuser needs nothing; this serves a
-- role with CREATEROLE).
DO $$
BEGIN
  IF NOT pg_has_role(current_user, 'stack_analytics_query', 'MEMBER') THEN
    GRANT stack_analytics_query TO CURRENT_USER;
  END IF;
END $$;
--> statement-breakpoint
CREATE SCHEMA analytics;
--> statement-breakpoint
REVOKE ALL ON SCHEMA analytics FROM PUBLIC;
--> statement-breakpoint
GRANT USAGE ON SCHEMA analytics TO stack_analytics_query;
--> statement-breakpoint
-- security_barrier: the tenancy condition is applied before any condition of the query, so an
-- error-raising expression (a failing cast of another project's data, say) never sees other rows.
-- The view runs with its owner's rights on "AnalyticsEvent"; the query role has none of its own.
CREATE VIEW analytics.events WITH (security_barrier) AS
  SELECT id AS event_id,
         type AS event_type,
         "createdAt" AS event_at,
         "projectUserId" AS user_id,
         "projectId" AS project_id,
         data
  FROM public."AnalyticsEvent"
  WHERE "tenancyId" = nullif(current_setting('stack_analytics.tenancy_id', true), '')::uuid;
--> statement-breakpoint
GRANT SELECT ON analytics.events TO stack_analytics_query;
--> statement-breakpoint
-- Nothing of the public schema for anyone but its owner and the role running the migrations: the
-- query role must not even resolve the internal tables' names to try them.
REVOKE ALL ON SCHEMA public FROM PUBLIC;
--> statement-breakpoint
GRANT USAGE ON SCHEMA public TO CURRENT_USER;
--> statement-breakpoint
-- Functions every role may call by default that would let a query change its own settings (role,
-- tenancy) or act outside its transaction: settings, session and transaction advisory locks (held
-- past the query on a pooled connection, or blocking the migrations' lock), logical decoding
-- messages (a non-transactional one reaches the cdc reader even though the query rolls back),
-- notifications, transaction ids. The role running the migrations keeps them (superusers always do).
DO $$
DECLARE
  fn regprocedure;
BEGIN
  FOR fn IN
    SELECT p.oid::regprocedure
    FROM pg_proc p
    WHERE p.pronamespace = 'pg_catalog'::regnamespace
      AND (p.proname IN ('set_config', 'pg_logical_emit_message', 'pg_notify', 'txid_current', 'pg_current_xact_id')
           OR p.proname LIKE 'pg\_advisory\_%' OR p.proname LIKE 'pg\_try\_advisory\_%')
  LOOP
    EXECUTE format('REVOKE EXECUTE ON FUNCTION %s FROM PUBLIC', fn);
    EXECUTE format('GRANT EXECUTE ON FUNCTION %s TO CURRENT_USER', fn);
  END LOOP;
END $$;
--> statement-breakpoint
-- Catalog views that show other sessions' work or table contents. pg_stats lists only columns a
-- role may read and pg_stat_activity hides other roles' query text anyway; pg_stat_statements
-- records every analytics query under the query role, so that role would see other projects'
-- query texts in it. Monitoring keeps them through pg_monitor.
DO $$
DECLARE
  catalog_view text;
BEGIN
  FOREACH catalog_view IN ARRAY ARRAY['pg_catalog.pg_stats', 'pg_catalog.pg_stats_ext', 'pg_catalog.pg_stats_ext_exprs', 'pg_catalog.pg_stat_activity', 'pg_catalog.pg_stat_statements', 'public.pg_stat_statements', 'public.pg_stat_statements_info']
  LOOP
    IF to_regclass(catalog_view) IS NOT NULL THEN
      EXECUTE format('REVOKE ALL ON %s FROM PUBLIC', catalog_view);
      EXECUTE format('GRANT SELECT ON %s TO CURRENT_USER, pg_monitor', catalog_view);
    END IF;
  END LOOP;
  FOR catalog_view IN SELECT p.oid::regprocedure::text FROM pg_proc p WHERE p.proname IN ('pg_stat_statements', 'pg_stat_get_activity')
  LOOP
    EXECUTE format('REVOKE EXECUTE ON FUNCTION %s FROM PUBLIC', catalog_view);
    EXECUTE format('GRANT EXECUTE ON FUNCTION %s TO CURRENT_USER, pg_monitor', catalog_view);
  END LOOP;
END $$;
