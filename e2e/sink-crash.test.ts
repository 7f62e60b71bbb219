import { describe, expect, it } from 'vitest';
import { waitFor } from '../infra/wait-for';
import { expectConverged } from './harness/oracle';
import { PartProcess } from './harness/part-process';
import { PipelineContext } from './harness/pipeline-context';
import { SeededRandom } from './harness/seeded-random';
import { withClient } from './harness/test-services';
import { UserWorkload } from './harness/workload';

/**
 * Records every upsert of a users row (not the primary-email refresh). The workload never writes a
 * display name twice, so one (id, display_name) logged twice means a change was applied twice.
 */
async function installApplyAudit(url: string): Promise<void> {
  await waitFor('the sink to create its tables', () => withClient(url, async (client) => (await client.query(`SELECT to_regclass('users') IS NOT NULL AS ok`)).rows[0].ok === true));
  await withClient(url, (client) =>
    client.query(`
      CREATE TABLE apply_audit (id uuid, display_name text, logged_at timestamptz DEFAULT clock_timestamp());
      CREATE FUNCTION log_apply() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN INSERT INTO apply_audit (id, display_name) VALUES (NEW.id, NEW.display_name); RETURN NEW; END $$;
      CREATE TRIGGER users_insert_audit AFTER INSERT ON users FOR EACH ROW EXECUTE FUNCTION log_apply();
      CREATE TRIGGER users_upsert_audit AFTER UPDATE ON users FOR EACH ROW
        WHEN (OLD.primary_email IS NOT DISTINCT FROM NEW.primary_email AND OLD.primary_email_verified IS NOT DISTINCT FROM NEW.primary_email_verified)
        EXECUTE FUNCTION log_apply();`),
  );
}

describe('sink crash safety', () => {
  // Each of the 22 incarnations starts a process, joins three consumer groups and applies before it
  // is killed: minutes of wall time.
  it('SIGKILLed ≥ 20 times during a sustained workload, every external database equals the oracle and nothing was applied twice', { timeout: 400_000 }, async () => {
    await using ctx = await PipelineContext.open();
    await ctx.startCdc();
    const [alpha, beta] = [await ctx.createProject('alpha'), await ctx.createProject('beta')];
    const databases = { alpha: [await ctx.createExternalDatabase(), await ctx.createExternalDatabase()], beta: [await ctx.createExternalDatabase()] };
    await ctx.setExternalDatabases(alpha, { one: databases.alpha[0]!, two: databases.alpha[1]! });
    await ctx.setExternalDatabases(beta, { one: databases.beta[0]! });
    for (const project of [alpha, beta]) await ctx.insertUsers(project.tenancyId, 40, `seed-${project.id.slice(0, 4)}-`);

    const startedAt = Date.now();
    const sink = new PartProcess('sink', ctx.config);
    sink.start();
    await Promise.all([...databases.alpha, ...databases.beta].map(installApplyAudit));

    const random = new SeededRandom(20261123);
    const workload = new UserWorkload(ctx.internal, [alpha.tenancyId, beta.tenancyId], random);
    let running = true;
    const writing = workload.run(2, () => running);
    const allDatabases = [...databases.alpha, ...databases.beta];
    const appliedSoFar = async () => {
      let total = 0;
      for (const url of allDatabases) {
        total += await withClient(url, async (client) => (await client.query(`SELECT coalesce(sum(last_synced_sequence_id), 0)::int AS n FROM _stack_sync_metadata`)).rows[0].n as number);
      }
      return total;
    };
    let kills = 0;
    try {
      while (kills < 22) {
        // Kill only once this incarnation is applying, then at a random moment: mid-batch, between
        // batches, or while it commits.
        const before = await appliedSoFar();
        await waitFor('the restarted sink to apply something', async () => (await appliedSoFar()) > before, { timeoutMs: 60_000, intervalMs: 50 });
        await new Promise((resolve) => setTimeout(resolve, random.int(1_000)));
        await sink.kill();
        kills++;
        process.stderr.write(`kill ${kills} at ${Math.round((Date.now() - startedAt) / 1000)} s\n`);
        sink.start();
      }
    } finally {
      running = false;
      await writing;
    }
    expect(kills).toBeGreaterThanOrEqual(20);
    console.log(`sink crash test: ${kills} kills in ${Math.round((Date.now() - startedAt) / 1000)} s; ${workload.committed} transactions committed, ${workload.rolledBack} rolled back`);
    expect(workload.committed).toBeGreaterThan(100);
    expect(workload.rolledBack).toBeGreaterThan(0);

    try {
      for (const url of databases.alpha) await expectConverged(ctx.internal, alpha.tenancyId, url, 90_000);
      for (const url of databases.beta) await expectConverged(ctx.internal, beta.tenancyId, url, 90_000);
      for (const url of [...databases.alpha, ...databases.beta]) {
        const twice = await withClient(url, async (client) =>
          (await client.query(`SELECT id, display_name, count(*)::int AS times FROM apply_audit GROUP BY 1, 2 HAVING count(*) > 1 LIMIT 5`)).rows,
        );
        expect(twice, url).toEqual([]);
        const logged = await withClient(url, async (client) => (await client.query(`SELECT count(*)::int AS n FROM apply_audit`)).rows[0].n as number);
        expect(logged).toBeGreaterThan(0);
      }
    } catch (error: unknown) {
      throw new Error(`${error instanceof Error ? error.message : String(error)}\nsink output:\n${sink.output.slice(-3_000)}`);
    } finally {
      await sink.stop();
    }
  });
});
