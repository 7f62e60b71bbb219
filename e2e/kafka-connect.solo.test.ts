import os from 'node:os';
import path from 'node:path';
import fs from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import type pg from 'pg';
import { connectColumns } from '../cdc/connect-schemas';
import { ConnectStandalone, hasJava } from '../infra/kafka-connect';
import { waitFor } from '../infra/wait-for';
import type { SourceTable } from '../schema/change-event';
import { expectConverged } from './harness/oracle';
import { PipelineContext, type TestProject } from './harness/pipeline-context';
import { uniqueName, withClient } from './harness/test-services';

/**
 * The schema'd event format, read by the real consumer: a Kafka Connect 4.3 standalone worker
 * with Debezium's JDBC sink (and its ExtractNewRecordState SMT), configured as a data-platform
 * team would point it at one tenancy's topic. Solo: the JVM takes seconds of both cores to start.
 */

type Row = Record<string, string | null>;

/** Every column as text in one canonical form, so source and target compare as strings. */
function canonical(table: SourceTable, quote = true): string {
  return connectColumns(table)
    .map(({ name, encoding }) => {
      const column = quote ? `"${name}"` : name;
      if (encoding === 'timestamp') return `to_char(${column}, 'YYYY-MM-DD"T"HH24:MI:SS.MS') AS "${name}"`;
      if (encoding === 'json') return `${column}::jsonb::text AS "${name}"`;
      return `${column}::text AS "${name}"`;
    })
    .join(', ');
}

function keyOrder(table: SourceTable): string {
  return table === 'ProjectUser' ? '"projectUserId"' : '"projectUserId", id';
}

async function sourceRows(internal: pg.Pool, table: SourceTable, tenancyId: string): Promise<Row[]> {
  return (await internal.query<Row>(`SELECT ${canonical(table)} FROM "${table}" WHERE "tenancyId" = $1 ORDER BY ${keyOrder(table)}`, [tenancyId])).rows;
}

async function targetRows(url: string, sql: string): Promise<Row[]> {
  return withClient(url, async (client) => (await client.query<Row>(sql)).rows).catch(() => []);
}

/** Column-by-column differences between two row lists keyed by their primary key. */
function differences(table: SourceTable, want: Row[], have: Row[]): string[] {
  const keyOf = (row: Row) => (table === 'ProjectUser' ? `${row.projectUserId}` : `${row.projectUserId}/${row.id}`);
  const found = new Map(have.map((row) => [keyOf(row), row]));
  const result: string[] = [];
  for (const row of want) {
    const other = found.get(keyOf(row));
    if (!other) {
      result.push(`${table} ${keyOf(row)}: missing`);
      continue;
    }
    for (const [column, value] of Object.entries(row)) if (other[column] !== value) result.push(`${table} ${keyOf(row)}.${column}: want ${JSON.stringify(value)}, have ${JSON.stringify(other[column])}`);
    found.delete(keyOf(row));
  }
  for (const key of found.keys()) result.push(`${table} ${key}: should not exist`);
  return result;
}

/** Polls until `diff` is empty (or a connector task fails), then returns; fails with the last differences. */
async function converge(connect: ConnectStandalone, connector: string, what: string, diff: () => Promise<string[]>, timeoutMs = 60_000): Promise<void> {
  let last: string[] = [];
  let failed: unknown;
  try {
    await waitFor(
      what,
      async () => {
        // A failed task never recovers: stop polling at once, with its trace.
        failed = await connect.assertNotFailed(connector).then(() => undefined, (error: unknown) => error);
        if (failed) return true;
        last = await diff();
        return last.length === 0;
      },
      { timeoutMs, intervalMs: 250 },
    );
  } catch (error: unknown) {
    failed = error;
  }
  if (failed) throw new Error(`${failed instanceof Error ? failed.message : String(failed)}\n${last.slice(0, 15).join('\n')}\n${await connect.logTail(30)}`);
}

/**
 * Creates, updates, deletes and a rolled-back transaction, through SQL as any writer would: users
 * with a primary email each, jsonb with nesting and unicode, restricted users, renames, a user
 * whose channels are deleted by cascade, and a transaction whose changes must never arrive.
 */
async function workload(ctx: PipelineContext, tenancyId: string, round: string, withChannels: boolean): Promise<void> {
  if (withChannels) await ctx.insertUsers(tenancyId, 12, `${round}-user-`);
  else
    await ctx.internal.query(
      `INSERT INTO "ProjectUser" ("tenancyId", "projectUserId", "displayName") SELECT $1, gen_random_uuid(), $2 || n FROM generate_series(1, 12) AS n`,
      [tenancyId, `${round}-user-`],
    );
  const ids = (await ctx.internal.query<{ id: string }>(`SELECT "projectUserId" AS id FROM "ProjectUser" WHERE "tenancyId" = $1 AND "displayName" LIKE $2 ORDER BY 1`, [tenancyId, `${round}-user-%`])).rows.map((row) => row.id);
  await ctx.internal.query(
    `UPDATE "ProjectUser" SET "displayName" = 'Zoë “quoted” ' || $3, "clientMetadata" = '{"theme":"dark","nested":{"list":[1,"two",null,{"ü":true}]}}',
            "serverMetadata" = '{"plan":"pro","seats":3}', "restrictedByAdmin" = true, "restrictedByAdminReason" = 'review', "lastActiveAt" = '2031-05-06 07:08:09.123'
      WHERE "tenancyId" = $1 AND "projectUserId" = ANY($2::uuid[])`,
    [tenancyId, ids.slice(0, 4), round],
  );
  await ctx.internal.query(`UPDATE "ProjectUser" SET "isAnonymous" = true, "profileImageUrl" = 'https://example.com/a.png' WHERE "tenancyId" = $1 AND "projectUserId" = $2`, [tenancyId, ids[4]]);
  if (withChannels) await ctx.internal.query(`UPDATE "ContactChannel" SET "isVerified" = true, "usedForAuth" = NULL WHERE "tenancyId" = $1 AND "projectUserId" = ANY($2::uuid[])`, [tenancyId, ids.slice(2, 6)]);
  // Deletes: two users (their channels go by cascade) and, separately, one channel of a kept user.
  await ctx.internal.query(`DELETE FROM "ProjectUser" WHERE "tenancyId" = $1 AND "projectUserId" = ANY($2::uuid[])`, [tenancyId, ids.slice(6, 8)]);
  if (withChannels) await ctx.internal.query(`DELETE FROM "ContactChannel" WHERE "tenancyId" = $1 AND "projectUserId" = $2`, [tenancyId, ids[8]]);
  // A rolled-back transaction: an insert, an update of every user and a delete that never happened.
  const client = await ctx.internal.connect();
  try {
    await client.query('BEGIN');
    await client.query(`INSERT INTO "ProjectUser" ("tenancyId", "projectUserId", "displayName") VALUES ($1, gen_random_uuid(), 'ghost')`, [tenancyId]);
    await client.query(`UPDATE "ProjectUser" SET "displayName" = 'rolled back' WHERE "tenancyId" = $1`, [tenancyId]);
    await client.query(`DELETE FROM "ProjectUser" WHERE "tenancyId" = $1 AND "projectUserId" = $2`, [tenancyId, ids[9]]);
    await client.query('ROLLBACK');
  } finally {
    client.release();
  }
}

function jdbcConnection(url: string): Record<string, string> {
  const parsed = new URL(url);
  return {
    'connection.url': `jdbc:postgresql://${parsed.hostname}:${parsed.port}${parsed.pathname}`,
    'connection.username': decodeURIComponent(parsed.username),
    'connection.password': decodeURIComponent(parsed.password),
  };
}

/** The README's recipe for Debezium's JDBC sink on a tenancy topic of the schema'd format. */
function jdbcSinkConfig(name: string, topic: string, url: string): Record<string, string> {
  return {
    name,
    'connector.class': 'io.debezium.connector.jdbc.JdbcSinkConnector',
    'tasks.max': '1',
    topics: topic,
    ...jdbcConnection(url),
    'insert.mode': 'upsert',
    'delete.enabled': 'true',
    'primary.key.mode': 'record_key',
    'schema.evolution': 'basic',
    'quote.identifiers': 'true',
    'collection.name.format': '${source.table}',
    'value.converter': 'org.apache.kafka.connect.json.JsonConverter',
    'value.converter.schemas.enable': 'true',
    // A null in a column with a default must stay null, not become the default.
    'value.converter.replace.null.with.default': 'false',
  };
}

describe.skipIf(!hasJava())('Kafka Connect consumers read the schema’d format unchanged', () => {
  it('Debezium’s JDBC sink mirrors a tenancy’s tables, and ExtractNewRecordState flattens its events', async () => {
    await using ctx = await PipelineContext.open({ CDC_EVENT_FORMAT: 'debezium-json-schemas' });
    await ctx.startPipeline();
    const project: TestProject = await ctx.createProject('Connect JDBC');
    const flatProject: TestProject = await ctx.createProject('Connect flattened');
    // Our own sink on the same schema'd topics: a deployment that opts in keeps its external databases.
    const ours = await ctx.createExternalDatabase();
    await ctx.setExternalDatabases(project, { main: ours });
    const jdbcTarget = await ctx.createExternalDatabase();
    const flatTarget = await ctx.createExternalDatabase();

    await workload(ctx, project.tenancyId, 'before', true);
    await workload(ctx, flatProject.tenancyId, 'before', false);
    await expectConverged(ctx.internal, project.tenancyId, ours);

    const topic = `${ctx.config.CDC_TOPIC_PREFIX}.${project.tenancyId}`;
    const flatTopic = `${ctx.config.CDC_TOPIC_PREFIX}.${flatProject.tenancyId}`;
    const jdbcName = uniqueName('jdbc');
    const flatName = uniqueName('flat');
    const workDir = await fs.mkdtemp(path.join(os.tmpdir(), 'stack-sync-connect-'));
    await using connect = await ConnectStandalone.start({
      brokers: ctx.config.KAFKA_BROKERS,
      workDir,
      connectors: [
        jdbcSinkConfig(jdbcName, topic, jdbcTarget),
        {
          ...jdbcSinkConfig(flatName, flatTopic, flatTarget),
          'collection.name.format': 'flat_users',
          // Flattened: a delete becomes its before image with __deleted=true, tombstones are dropped.
          'delete.enabled': 'false',
          transforms: 'unwrap',
          'transforms.unwrap.type': 'io.debezium.transforms.ExtractNewRecordState',
          'transforms.unwrap.delete.tombstone.handling.mode': 'rewrite',
          'transforms.unwrap.add.fields': 'op,table,commit_lsn',
        },
      ],
    });

    // Catch-up from offset 0, then live changes while the connectors run.
    const jdbcDiff = async () => [
      ...differences('ProjectUser', await sourceRows(ctx.internal, 'ProjectUser', project.tenancyId), await targetRows(jdbcTarget, `SELECT ${canonical('ProjectUser')} FROM "ProjectUser"`)),
      ...differences('ContactChannel', await sourceRows(ctx.internal, 'ContactChannel', project.tenancyId), await targetRows(jdbcTarget, `SELECT ${canonical('ContactChannel')} FROM "ContactChannel"`)),
    ];
    await converge(connect, jdbcName, 'the JDBC sink’s tables to equal the source (catch-up)', jdbcDiff);
    await workload(ctx, project.tenancyId, 'live', true);
    await converge(connect, jdbcName, 'the JDBC sink’s tables to equal the source (live)', jdbcDiff);
    await expectConverged(ctx.internal, project.tenancyId, ours);

    // Deletes arrived as deletes (rows gone), and nothing of the rolled-back transactions exists.
    const counts = await targetRows(jdbcTarget, `SELECT (SELECT count(*) FROM "ProjectUser")::text AS users, (SELECT count(*) FROM "ProjectUser" WHERE "displayName" IN ('ghost', 'rolled back'))::text AS ghosts`);
    expect(counts).toEqual([{ users: '20', ghosts: '0' }]);
    // The sink created its tables from our schemas with the source's column types.
    const types = await targetRows(
      jdbcTarget,
      `SELECT table_name || '.' || column_name AS "column", data_type AS type FROM information_schema.columns
        WHERE table_name IN ('ProjectUser', 'ContactChannel') AND column_name IN ('tenancyId', 'clientMetadata', 'createdAt', 'isAnonymous', 'type') ORDER BY 1`,
    );
    expect(Object.fromEntries(types.map((row) => [row.column, row.type]))).toEqual({
      'ContactChannel.createdAt': 'timestamp without time zone',
      'ContactChannel.tenancyId': 'uuid',
      'ContactChannel.type': 'text',
      'ProjectUser.clientMetadata': 'jsonb',
      'ProjectUser.createdAt': 'timestamp without time zone',
      'ProjectUser.isAnonymous': 'boolean',
      'ProjectUser.tenancyId': 'uuid',
    });

    // ExtractNewRecordState: each user's latest state as a flat row; deleted users as their last
    // state with __deleted = 'true' and __op = 'd'.
    const deletedIds = new Set<string>();
    await converge(connect, flatName, 'the flattened records to equal the source', async () => {
      const want = await sourceRows(ctx.internal, 'ProjectUser', flatProject.tenancyId);
      const have = await targetRows(flatTarget, `SELECT ${canonical('ProjectUser')}, "__deleted", "__op", "__table", "__commit_lsn" FROM flat_users`);
      const live = have.filter((row) => row.__deleted === 'false');
      deletedIds.clear();
      for (const row of have) if (row.__deleted === 'true') deletedIds.add(row.projectUserId!);
      const wrong = have.filter((row) => row.__table !== 'ProjectUser' || !/^\d+$/.test(row.__commit_lsn ?? '') || (row.__deleted === 'true') !== (row.__op === 'd'));
      return [
        ...differences('ProjectUser', want, live.map(({ __deleted, __op, __table, __commit_lsn, ...row }) => row)),
        ...(deletedIds.size === 2 ? [] : [`${deletedIds.size} rows marked deleted, want 2`]),
        ...wrong.map((row) => `flat_users ${row.projectUserId}: metadata ${row.__op}/${row.__table}/${row.__deleted}/${row.__commit_lsn}`),
      ];
    });
    for (const id of deletedIds) expect((await ctx.internal.query(`SELECT 1 FROM "ProjectUser" WHERE "projectUserId" = $1`, [id])).rowCount).toBe(0);

    await connect.stop();
    await fs.rm(workDir, { recursive: true, force: true });
  });
});
