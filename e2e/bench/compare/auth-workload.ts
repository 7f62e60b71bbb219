import { randomUUID } from 'node:crypto';
import pg from 'pg';
import { SeededRandom } from '../../harness/seeded-random';

/**
 * The auth service's write shape, as SQL any writer would send: a sign-up is one transaction of a
 * user and its primary email, a rename updates one user, a delete removes a user (its email goes
 * by cascade). Every transaction carries a label unique in the run, so a reader of the topic or of
 * the target table can tell which commit it is looking at.
 */

export type AuthTransactionKind = 'sign-up' | 'rename' | 'delete';

/** Share of each kind, out of 100: the mix of the trigger-design measurements in STACK-NOTES.md. */
export const authMix: Readonly<Record<AuthTransactionKind, number>> = { 'sign-up': 30, rename: 60, delete: 10 };

/** Row changes (events) one transaction of each kind makes: a delete also deletes the user's email. */
export const changesPerTransaction: Readonly<Record<AuthTransactionKind, number>> = { 'sign-up': 2, rename: 1, delete: 2 };

/** Mean changes per transaction of the mix (1.4): converts a changes/s rate into transactions/s. */
export const meanChangesPerTransaction = (Object.keys(authMix) as AuthTransactionKind[]).reduce((sum, kind) => sum + (authMix[kind] * changesPerTransaction[kind]) / 100, 0);

/** What a transaction's label is on the topic and in the target: the new display name, or `D:<user id>` for a delete. */
export function deleteLabel(projectUserId: string): string {
  return `D:${projectUserId}`;
}

/**
 * One writer of the workload on its own connection. It owns its users, so no two writers rename or
 * delete the same user (a rename of a user deleted concurrently would change nothing and publish
 * nothing, and the expected event count would be wrong).
 */
export class AuthWriter {
  readonly #users: string[] = [];
  readonly #random: SeededRandom;
  #sequence = 0;
  /** Row changes committed by this writer so far. */
  changes = 0;
  /** Labels of each user's transactions in commit order (a user belongs to one writer). */
  readonly labelsOfUser = new Map<string, string[]>();
  readonly userOfLabel = new Map<string, string>();

  private constructor(
    private readonly client: pg.Client,
    private readonly tenancyId: string,
    /** Prefix of this writer's labels (unique per writer and run). */
    private readonly labelPrefix: string,
    seed: number,
  ) {
    this.#random = new SeededRandom(seed);
  }

  static async open(url: string, tenancyId: string, labelPrefix: string, seed: number): Promise<AuthWriter> {
    const client = new pg.Client({ connectionString: url });
    await client.connect();
    return new AuthWriter(client, tenancyId, labelPrefix, seed);
  }

  /** The next kind by the mix; a writer without users signs one up. */
  nextKind(): AuthTransactionKind {
    if (this.#users.length === 0) return 'sign-up';
    const draw = this.#random.next() * 100;
    if (draw < authMix['sign-up']) return 'sign-up';
    return draw < authMix['sign-up'] + authMix.rename ? 'rename' : 'delete';
  }

  /** Commits one transaction of `kind` (autocommit, one statement); returns its label. */
  async write(kind: AuthTransactionKind): Promise<string> {
    const label = `${this.labelPrefix}-${this.#sequence++}`;
    if (kind === 'sign-up') {
      const projectUserId = randomUUID();
      await this.client.query(
        `WITH signed_up AS (
           INSERT INTO "ProjectUser" ("tenancyId", "projectUserId", "displayName") VALUES ($1, $2, $3))
         INSERT INTO "ContactChannel" ("tenancyId", "projectUserId", id, type, value, "isPrimary", "usedForAuth") VALUES ($1, $2, gen_random_uuid(), 'EMAIL', $4, 'TRUE', 'TRUE')`,
        [this.tenancyId, projectUserId, label, `${label}@example.com`],
      );
      this.#users.push(projectUserId);
      this.changes += changesPerTransaction['sign-up'];
      return this.#record(projectUserId, label);
    }
    const index = this.#random.int(this.#users.length);
    const projectUserId = this.#users[index]!;
    if (kind === 'rename') {
      await this.client.query(`UPDATE "ProjectUser" SET "displayName" = $3, "updatedAt" = now() WHERE "tenancyId" = $1 AND "projectUserId" = $2`, [this.tenancyId, projectUserId, label]);
      this.changes += changesPerTransaction.rename;
      return this.#record(projectUserId, label);
    }
    // Swap-remove: the deleted user is never picked again.
    this.#users[index] = this.#users.at(-1)!;
    this.#users.pop();
    await this.client.query(`DELETE FROM "ProjectUser" WHERE "tenancyId" = $1 AND "projectUserId" = $2`, [this.tenancyId, projectUserId]);
    this.changes += changesPerTransaction.delete;
    return this.#record(projectUserId, deleteLabel(projectUserId));
  }

  #record(projectUserId: string, label: string): string {
    const labels = this.labelsOfUser.get(projectUserId);
    if (labels) labels.push(label);
    else this.labelsOfUser.set(projectUserId, [label]);
    this.userOfLabel.set(label, projectUserId);
    return label;
  }

  /**
   * When the target reached the state of `label` or a later one of the same user: a sink may apply
   * only the latest of several changes to one row that arrive in one batch, and the earlier change
   * is visible (overtaken) from that moment.
   */
  appliedAt(label: string, applied: ReadonlyMap<string, number>): number | undefined {
    const labels = this.labelsOfUser.get(this.userOfLabel.get(label) ?? '') ?? [];
    let earliest: number | undefined;
    for (const later of labels.slice(labels.indexOf(label))) {
      const at = applied.get(later);
      if (at !== undefined && (earliest === undefined || at < earliest)) earliest = at;
    }
    return earliest;
  }

  async close(): Promise<void> {
    await this.client.end();
  }
}

/** `transactions` of the mix from `writers` connections as fast as they go; returns the row changes made. */
export async function writeBacklog(writers: readonly AuthWriter[], transactions: number): Promise<number> {
  let next = 0;
  const before = writers.reduce((sum, writer) => sum + writer.changes, 0);
  await Promise.all(
    writers.map(async (writer) => {
      while (next++ < transactions) await writer.write(writer.nextKind());
    }),
  );
  return writers.reduce((sum, writer) => sum + writer.changes, 0) - before;
}

/**
 * Writes the mix at `changesPerSecond` for `seconds` (each writer paces its own share) and returns
 * the commit time (epoch ms, this process's clock, taken when COMMIT returned) of every label.
 */
export async function writePaced(writers: readonly AuthWriter[], changesPerSecond: number, seconds: number): Promise<Map<string, number>> {
  const committedAt = new Map<string, number>();
  const transactionsPerSecond = changesPerSecond / meanChangesPerTransaction;
  const total = Math.round(transactionsPerSecond * seconds);
  const started = performance.now();
  let next = 0;
  await Promise.all(
    writers.map(async (writer) => {
      for (;;) {
        const index = next++;
        if (index >= total) return;
        const wait = started + (index * 1000) / transactionsPerSecond - performance.now();
        if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
        const label = await writer.write(writer.nextKind());
        committedAt.set(label, Date.now());
      }
    }),
  );
  return committedAt;
}
