import type pg from 'pg';

/** Longest a peek at the slot may run, in ms (see oldestUnpublishedCommitMs). */
const peekTimeoutMs = 1_000;

/** Postgres timestamps count microseconds from 2000-01-01 UTC. */
const postgresEpochMs = Date.UTC(2000, 0, 1);

/**
 * Commit time of a pgoutput BEGIN message (protocol "Logical Replication Message Formats":
 * Byte1('B'), Int64 final LSN, Int64 commit timestamp, Int32 xid), in ms since the Unix epoch;
 * undefined for any other message.
 */
export function beginCommitTimeMs(message: Buffer): number | undefined {
  if (message.length < 21 || message[0] !== 0x42) return undefined;
  const micros = message.readBigInt64BE(9);
  return postgresEpochMs + Number(micros / 1000n);
}

/**
 * Commit time of the oldest committed change the slot still holds for the publication (what the
 * reader has not published yet), read without consuming it; undefined when the slot holds none.
 * Only for a slot no reader streams: Postgres refuses to decode an active slot twice. Decoding
 * stops after the first transaction with a published change (empty ones are skipped by pgoutput).
 */
export async function oldestUnpublishedCommitMs(db: pg.Pool, slot: string, publication: string): Promise<number | undefined> {
  const client = await db.connect();
  try {
    await client.query('BEGIN');
    // Peeking decodes the whole first transaction (a bulk one can hold a million rows) and holds the
    // slot meanwhile: a reader resuming would find it busy. A second is all a metric may take.
    await client.query(`SET LOCAL statement_timeout = ${peekTimeoutMs}`);
    const result = await client.query<{ data: Buffer }>(
      `SELECT data FROM pg_logical_slot_peek_binary_changes($1, NULL, 1, 'proto_version', '1', 'publication_names', $2) LIMIT 1`,
      [slot, publication],
    );
    await client.query('COMMIT');
    const first = result.rows[0];
    return first ? beginCommitTimeMs(first.data) : undefined;
  } catch (error: unknown) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw error;
  } finally {
    client.release();
  }
}
