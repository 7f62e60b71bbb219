import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { changeEventSchema, type ChangeEvent } from '../schema/change-event';
import { expectConverged } from './harness/oracle';
import { PipelineContext } from './harness/pipeline-context';

/** Random text that does not compress: stored out of line (TOAST) once over ~2 KB. */
function incompressible(bytes: number): string {
  return randomBytes(bytes).toString('base64').slice(0, bytes);
}

async function userEvents(ctx: PipelineContext, tenancyId: string, count: number): Promise<ChangeEvent[]> {
  const records = await ctx.readTopic(tenancyId, (found) => found.filter((record) => record.value !== null).length >= count);
  return records.flatMap((record) => (record.value === null ? [] : [changeEventSchema.parse(JSON.parse(record.value))]));
}

describe('row fidelity', () => {
  it('TOASTed text and jsonb over 8 KB that an update leaves unchanged arrive intact, in Kafka and in the external database', async () => {
    await using ctx = await PipelineContext.open();
    await ctx.startPipeline();
    const project = await ctx.createProject();
    const external = await ctx.createExternalDatabase();
    await ctx.setExternalDatabases(project, { main: external });
    const bigText = `https://example.com/${incompressible(12_000)}`;
    const bigJson = { notes: incompressible(20_000), nested: { list: [1, 2, 3], flag: true } };
    const inserted = await ctx.internal.query<{ id: string; stored: number }>(
      `INSERT INTO "ProjectUser" ("tenancyId", "projectUserId", "displayName", "profileImageUrl", "serverMetadata")
       VALUES ($1, gen_random_uuid(), 'before', $2, $3) RETURNING "projectUserId"::text AS id, pg_column_size("serverMetadata") AS stored`,
      [project.tenancyId, bigText, JSON.stringify(bigJson)],
    );
    const userId = inserted.rows[0]!.id;
    // Out of line for real: the stored jsonb is far over the 2 KB TOAST threshold.
    expect(inserted.rows[0]!.stored).toBeGreaterThan(8_000);
    // An update that leaves both big columns untouched: pgoutput sends them as "unchanged TOAST".
    await ctx.internal.query(`UPDATE "ProjectUser" SET "displayName" = 'after' WHERE "projectUserId" = $1`, [userId]);

    const [insert, update] = await userEvents(ctx, project.tenancyId, 2);
    expect(insert?.op).toBe('c');
    expect(update?.op).toBe('u');
    expect(update?.after).toMatchObject({ displayName: 'after', profileImageUrl: bigText, serverMetadata: bigJson });
    expect(update?.before).toMatchObject({ displayName: 'before', profileImageUrl: bigText, serverMetadata: bigJson });
    await expectConverged(ctx.internal, project.tenancyId, external);
  });

  it('jsonb, timestamps, nulls and unicode round-trip exactly', async () => {
    await using ctx = await PipelineContext.open();
    await ctx.startCdc();
    const project = await ctx.createProject();
    const metadata = { emoji: '🚀 用户', quote: 'O\'Connor "Test"', nested: { empty: {}, list: [null, 1.5, 'x'], unicodeKey_ä: 'ü' }, zero: 0, negative: -42, bool: false };
    const row = await ctx.internal.query<{ id: string; createdAt: string; signedUpAt: string }>(
      `INSERT INTO "ProjectUser" ("tenancyId", "projectUserId", "displayName", "profileImageUrl", "clientMetadata", "createdAt", "signedUpAt")
       VALUES ($1, gen_random_uuid(), 'Zoë 🚀', NULL, $2, '2024-02-29 23:59:59.999', '1999-12-31 00:00:00.001')
       RETURNING "projectUserId"::text AS id`,
      [project.tenancyId, JSON.stringify(metadata)],
    );
    const [event] = await userEvents(ctx, project.tenancyId, 1);
    expect(event?.after).toMatchObject({
      projectUserId: row.rows[0]!.id,
      displayName: 'Zoë 🚀',
      profileImageUrl: null,
      serverMetadata: null,
      clientMetadata: metadata,
      createdAt: '2024-02-29T23:59:59.999Z',
      signedUpAt: '1999-12-31T00:00:00.001Z',
      isAnonymous: false,
    });
  });

  it('a column added to ProjectUser while streaming appears in later events, without a restart', async () => {
    await using ctx = await PipelineContext.open();
    await ctx.startPipeline();
    const project = await ctx.createProject();
    const external = await ctx.createExternalDatabase();
    await ctx.setExternalDatabases(project, { main: external });
    const userId = await ctx.createUser(project, { display_name: 'before the column' });
    await userEvents(ctx, project.tenancyId, 1);

    await ctx.internal.query(`ALTER TABLE "ProjectUser" ADD COLUMN "nickname" text`);
    await ctx.internal.query(`UPDATE "ProjectUser" SET "nickname" = 'Nicky', "displayName" = 'after the column' WHERE "projectUserId" = $1`, [userId]);

    const [first, second] = await userEvents(ctx, project.tenancyId, 2);
    expect(first?.after).not.toHaveProperty('nickname');
    expect(second?.after).toMatchObject({ nickname: 'Nicky', displayName: 'after the column' });
    // The sink maps what it knows and ignores the new column.
    await expectConverged(ctx.internal, project.tenancyId, external);
  });
});
