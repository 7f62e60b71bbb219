import { describe, expect, it } from 'vitest';
import { waitFor } from '../infra/wait-for';
import { PipelineContext } from '../e2e/harness/pipeline-context';

async function slotLagMetric(ctx: PipelineContext): Promise<number | undefined> {
  const metric = await ctx.cdcRegistry.getSingleMetric('cdc_replication_slot_lag_bytes')?.get();
  return metric?.values.find((value) => value.labels.slot === ctx.name)?.value;
}

describe('idle and filtered WAL', () => {
  // A slot that only ever sees changes of unpublished tables never gets a commit of ours to
  // confirm; without heartbeats it would pin all that WAL until the disk fills.
  it('releases WAL written only to tables outside the publication', async () => {
    await using ctx = await PipelineContext.open({ CDC_HEARTBEAT_INTERVAL_MS: '1000' });
    await ctx.startCdc();
    await ctx.internal.query('CREATE TABLE "UnpublishedAudit" (id bigserial PRIMARY KEY, payload text NOT NULL)');
    const walAt = async () => (await ctx.internal.query<{ lsn: string }>('SELECT pg_current_wal_lsn()::text AS lsn')).rows[0]!.lsn;
    const before = await walAt();
    for (let batch = 0; batch < 4; batch++) {
      // 50,000 rows of 1 KB each: about 55 MB of WAL per batch, over 200 MB in all.
      await ctx.internal.query(`INSERT INTO "UnpublishedAudit" (payload) SELECT repeat(md5(n::text), 32) FROM generate_series(1, 50000) AS n`);
    }
    const written = await ctx.internal.query<{ bytes: string }>('SELECT pg_wal_lsn_diff($1::pg_lsn, $2::pg_lsn)::bigint::text AS bytes', [await walAt(), before]);
    expect(Number(written.rows[0]?.bytes)).toBeGreaterThan(200 * 1024 * 1024);

    const startedAt = Date.now();
    await waitFor('the slot to release the WAL', async () => ((await slotLagMetric(ctx)) ?? Infinity) < 16 * 1024 * 1024, { timeoutMs: 30_000, intervalMs: 500 });
    expect(Date.now() - startedAt).toBeLessThan(30_000);
  });
});
