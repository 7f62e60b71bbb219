import type pg from 'pg';

/**
 * The write shape of an auth service, as the benchmarks (and `bench:compare`) replay it: small
 * transactions. A sign-up is one transaction inserting a user and its primary email (two changes);
 * a rename updates one user's display name (one change). Every transaction is its own statement
 * on one of `connections` connections, so each commits on its own: what a busy API does.
 */
export interface SignUpWorkloadOptions {
  tenancyId: string;
  /** Changes to write (a sign-up counts two, a rename one); the last transaction is the end marker. */
  changes: number;
  /** Every `renameEvery`-th transaction renames an earlier user (3: two sign-ups, then a rename); 0 for none. Default 3. */
  renameEvery?: number;
  /** Concurrent writer connections; default 4. */
  connections?: number;
  /** Transactions per second across all connections; unpaced (as fast as Postgres takes them) when absent. */
  transactionsPerSecond?: number;
  /** Prefix of every display name written, so a run can find its own rows. */
  label: string;
  /** Called after each transaction committed (its display name, and ms since the epoch when COMMIT returned). */
  onCommitted?: (displayName: string, committedAtMs: number) => void;
}

export interface WrittenWorkload {
  transactions: number;
  changes: number;
  signUps: number;
  renames: number;
  /** Display name of the last transaction, a sign-up committed after every other one. */
  endMarker: string;
  /** Its user's id (a primary-key lookup finds it downstream without scanning). */
  endMarkerUserId: string;
  /** Wall time of the writing, in ms. */
  elapsedMs: number;
}

const signUpSql = `WITH created AS (
  INSERT INTO "ProjectUser" ("tenancyId", "projectUserId", "displayName") VALUES ($1, gen_random_uuid(), $2) RETURNING "projectUserId")
INSERT INTO "ContactChannel" ("tenancyId", "projectUserId", id, type, value, "isPrimary", "usedForAuth")
SELECT $1, "projectUserId", gen_random_uuid(), 'EMAIL', $2 || '@example.com', 'TRUE', 'TRUE' FROM created
RETURNING "projectUserId"::text AS id`;

const renameSql = `UPDATE "ProjectUser" SET "displayName" = $3, "updatedAt" = now() WHERE "tenancyId" = $1 AND "projectUserId" = $2`;

/** Writes the sign-up/rename workload; resolves once every transaction committed. */
export async function writeSignUpWorkload(internal: pg.Pool, options: SignUpWorkloadOptions): Promise<WrittenWorkload> {
  const renameEvery = options.renameEvery ?? 3;
  const connections = options.connections ?? 4;
  const signedUp: string[] = [];
  const started = performance.now();
  let changes = 0;
  let next = 0;
  let signUps = 0;
  let renames = 0;
  // The plan is fixed up front (which transaction is what), so that writers racing each other
  // still write exactly `options.changes` changes.
  const plan: ('sign-up' | 'rename')[] = [];
  for (let planned = 0; planned < options.changes; ) {
    const index = plan.length;
    const rename = renameEvery > 0 && index % renameEvery === renameEvery - 1 && options.changes - planned > 2;
    plan.push(rename ? 'rename' : 'sign-up');
    planned += rename ? 1 : 2;
  }
  plan[plan.length - 1] = 'sign-up';
  const endIndex = plan.length - 1;
  const endMarker = `${options.label}-${endIndex}`;
  let endMarkerUserId = '';
  const write = async (client: pg.PoolClient, index: number) => {
    const displayName = `${options.label}-${index}`;
    // A rename needs a user already committed; the first ones sign up instead.
    if (plan[index] === 'rename' && signedUp.length > 0) {
      const userId = signedUp[(index * 7919) % signedUp.length]!;
      await client.query(renameSql, [options.tenancyId, userId, displayName]);
      renames++;
      changes += 1;
    } else {
      const result = await client.query<{ id: string }>(signUpSql, [options.tenancyId, displayName]);
      signedUp.push(result.rows[0]!.id);
      if (index === endIndex) endMarkerUserId = result.rows[0]!.id;
      signUps++;
      changes += 2;
    }
    options.onCommitted?.(displayName, Date.now());
  };
  const writers = Array.from({ length: connections }, async () => {
    const client = await internal.connect();
    try {
      for (;;) {
        const index = next++;
        // The end marker is written last, alone, once every other transaction committed.
        if (index >= endIndex) return;
        if (options.transactionsPerSecond !== undefined) {
          const wait = started + (index * 1000) / options.transactionsPerSecond - performance.now();
          if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
        }
        await write(client, index);
      }
    } finally {
      client.release();
    }
  });
  await Promise.all(writers);
  const client = await internal.connect();
  try {
    await write(client, endIndex);
  } finally {
    client.release();
  }
  return { transactions: plan.length, changes, signUps, renames, endMarker, endMarkerUserId, elapsedMs: performance.now() - started };
}
