import type pg from 'pg';
import type { SeededRandom } from './seeded-random';

type Client = pg.PoolClient;

/**
 * A randomized, reproducible mix of what users of the auth service do, written straight into the
 * internal database: create, rename, edit metadata, add an email, switch the primary, verify,
 * delete a channel, delete a user, re-create a user with a freed email; several in one
 * transaction, and some transactions rolled back. Every rename writes a display name never used
 * before, so a change applied twice downstream is visible as a repeated value.
 */
export class UserWorkload {
  #counter = 0;
  committed = 0;
  rolledBack = 0;
  failed = 0;

  /**
   * `spare`: a display-name prefix whose users the workload never picks to change or delete, so a
   * test can write marker users whose arrival downstream it waits for.
   */
  constructor(
    private readonly internal: pg.Pool,
    private readonly tenancyIds: readonly string[],
    private readonly random: SeededRandom,
    private readonly options: { spare?: string } = {},
  ) {}

  /** Names written by a transaction that will roll back start with `rolledback-`: none may ever show up downstream. */
  #fresh(tag: string, rollingBack: boolean): string {
    return `${rollingBack ? 'rolledback-' : ''}${tag}-${this.random.seed}-${this.#counter++}`;
  }

  async #someUser(client: Client, tenancyId: string): Promise<string | undefined> {
    // A spare user is never picked; COALESCE: a user without a display name is fair game.
    const pickable = `"tenancyId" = $1 AND ($2::text IS NULL OR COALESCE("displayName", '') NOT LIKE $2::text || '%')`;
    const spare = this.options.spare ?? null;
    const result = await client.query<{ id: string }>(`SELECT "projectUserId" AS id FROM "ProjectUser" WHERE ${pickable} ORDER BY "projectUserId" OFFSET $3 LIMIT 1`, [
      tenancyId,
      spare,
      this.random.int(50),
    ]);
    return result.rows[0]?.id ?? (await client.query<{ id: string }>(`SELECT "projectUserId" AS id FROM "ProjectUser" WHERE ${pickable} LIMIT 1`, [tenancyId, spare])).rows[0]?.id;
  }

  async #createUser(client: Client, tenancyId: string, rollingBack: boolean, email?: string): Promise<void> {
    const created = await client.query<{ id: string }>(
      `INSERT INTO "ProjectUser" ("tenancyId", "projectUserId", "displayName", "clientMetadata") VALUES ($1, gen_random_uuid(), $2, $3) RETURNING "projectUserId" AS id`,
      [tenancyId, this.#fresh('new', rollingBack), JSON.stringify({ n: this.#counter })],
    );
    await client.query(
      `INSERT INTO "ContactChannel" ("tenancyId", "projectUserId", id, type, value, "isPrimary", "usedForAuth") VALUES ($1, $2, gen_random_uuid(), 'EMAIL', $3, 'TRUE', 'TRUE')`,
      [tenancyId, created.rows[0]!.id, email ?? `${this.#fresh('mail', rollingBack)}@example.com`],
    );
  }

  async #operation(client: Client, rollingBack: boolean): Promise<void> {
    const tenancyId = this.random.pick(this.tenancyIds);
    const userId = await this.#someUser(client, tenancyId);
    const choice = userId === undefined ? 0 : this.random.int(10);
    switch (choice) {
      case 0:
        return this.#createUser(client, tenancyId, rollingBack);
      case 1:
      case 2:
        await client.query(`UPDATE "ProjectUser" SET "displayName" = $3 WHERE "tenancyId" = $1 AND "projectUserId" = $2`, [tenancyId, userId, this.#fresh('name', rollingBack)]);
        return;
      case 3:
        await client.query(`UPDATE "ProjectUser" SET "serverMetadata" = $3, "displayName" = $4 WHERE "tenancyId" = $1 AND "projectUserId" = $2`, [
          tenancyId,
          userId,
          JSON.stringify({ plan: this.random.pick(['free', 'pro', 'team']), seats: this.random.int(100), tags: ['a', 'ü', '🚀'] }),
          this.#fresh('meta', rollingBack),
        ]);
        return;
      case 4:
        await client.query(`INSERT INTO "ContactChannel" ("tenancyId", "projectUserId", id, type, value) VALUES ($1, $2, gen_random_uuid(), 'EMAIL', $3)`, [
          tenancyId,
          userId,
          `${this.#fresh('extra', rollingBack)}@example.com`,
        ]);
        return;
      case 5: {
        // Switch the primary email to another of the user's channels, demoting the old one first.
        const other = await client.query<{ id: string }>(
          `SELECT id FROM "ContactChannel" WHERE "tenancyId" = $1 AND "projectUserId" = $2 AND type = 'EMAIL' AND "isPrimary" IS NULL LIMIT 1`,
          [tenancyId, userId],
        );
        if (!other.rows[0]) return;
        await client.query(`UPDATE "ContactChannel" SET "isPrimary" = NULL WHERE "tenancyId" = $1 AND "projectUserId" = $2 AND type = 'EMAIL' AND "isPrimary" = 'TRUE'`, [tenancyId, userId]);
        await client.query(`UPDATE "ContactChannel" SET "isPrimary" = 'TRUE' WHERE id = $1`, [other.rows[0].id]);
        return;
      }
      case 6:
        await client.query(`UPDATE "ContactChannel" SET "isVerified" = NOT "isVerified" WHERE "tenancyId" = $1 AND "projectUserId" = $2`, [tenancyId, userId]);
        return;
      case 7:
        await client.query(
          `DELETE FROM "ContactChannel" WHERE id = (SELECT id FROM "ContactChannel" WHERE "tenancyId" = $1 AND "projectUserId" = $2 ORDER BY id LIMIT 1)`,
          [tenancyId, userId],
        );
        return;
      case 8:
        await client.query(`DELETE FROM "ProjectUser" WHERE "tenancyId" = $1 AND "projectUserId" = $2`, [tenancyId, userId]);
        return;
      default: {
        // Delete a user and create a new one with the email it used to sign in with.
        const email = await client.query<{ value: string }>(
          `SELECT value FROM "ContactChannel" WHERE "tenancyId" = $1 AND "projectUserId" = $2 AND "usedForAuth" = 'TRUE' LIMIT 1`,
          [tenancyId, userId],
        );
        await client.query(`DELETE FROM "ProjectUser" WHERE "tenancyId" = $1 AND "projectUserId" = $2`, [tenancyId, userId]);
        await this.#createUser(client, tenancyId, rollingBack, email.rows[0]?.value);
      }
    }
  }

  /** One transaction of one to four operations; about one in eight is rolled back. */
  async step(): Promise<void> {
    const client = await this.internal.connect();
    const rollBack = this.random.int(8) === 0;
    try {
      await client.query('BEGIN');
      const operations = 1 + this.random.int(4);
      for (let index = 0; index < operations; index++) await this.#operation(client, rollBack);
      if (rollBack) {
        await client.query('ROLLBACK');
        this.rolledBack++;
      } else {
        await client.query('COMMIT');
        this.committed++;
      }
    } catch {
      // Concurrent transactions may collide (unique index, deadlock): that one is simply not committed.
      await client.query('ROLLBACK').catch(() => undefined);
      this.failed++;
    } finally {
      client.release();
    }
  }

  /**
   * Runs `concurrency` writers that together start `perSecond` transactions a second (as far as the
   * database keeps up) until `until()` is false: a steady load, the same however fast the machine.
   */
  async runPaced(concurrency: number, perSecond: number, until: () => boolean): Promise<void> {
    const interval = (1000 * concurrency) / perSecond;
    await Promise.all(
      Array.from({ length: concurrency }, async (_, writer) => {
        let next = performance.now() + (interval * writer) / concurrency;
        while (until()) {
          const wait = next - performance.now();
          // Pacing a load generator, not waiting for a condition.
          if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
          next = Math.max(next + interval, performance.now() - interval);
          if (until()) await this.step();
        }
      }),
    );
  }

  /** Runs `concurrency` writers until `until()` is false. */
  async run(concurrency: number, until: () => boolean): Promise<void> {
    await Promise.all(
      Array.from({ length: concurrency }, async () => {
        while (until()) await this.step();
      }),
    );
  }
}
