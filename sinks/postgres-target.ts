import type pg from 'pg';
import { SyncError, sqlState } from '../infra/runtime/errors';
import { planBatch, type OffsetEvent } from './batch-plan';
import type { ExternalConnection } from '../schema/external-connection';
import type { ConnectionBudget } from './connection-budget';
import type { SourceTable } from '../schema/change-event';
import type { Mapping } from './mapping';
import { deleteStatement, refreshPrimaryEmailStatement, upsertStatements } from './sql';
import { ForeignProgressError, OffsetGapError, ProgressRewoundError, type ApplyRange, type ApplyResult, type PreparedProgress, type SyncTarget, type UsersTableFigures } from './target';

const metadataDdl = `CREATE TABLE IF NOT EXISTS _stack_sync_metadata (
  mapping_name text PRIMARY KEY,
  last_synced_sequence_id bigint NOT NULL DEFAULT -1,
  updated_at timestamp NOT NULL DEFAULT now(),
  source_topic text,
  last_commit_lsn text,
  last_seq integer,
  covered_through_offset bigint,
  covered_at_sequence_id bigint,
  sweep_pending boolean NOT NULL DEFAULT false,
  swept_snapshot_id bigint
)`;

/**
 * Added after the first release: the last offset covered (last_synced_sequence_id plus the markers
 * and tombstones after it), valid while last_synced_sequence_id still equals covered_at_sequence_id
 * (an operator who resets last_synced_sequence_id to rebuild thereby resets coverage too).
 */
const coverageDdl = `ALTER TABLE _stack_sync_metadata
  ADD COLUMN IF NOT EXISTS covered_through_offset bigint,
  ADD COLUMN IF NOT EXISTS covered_at_sequence_id bigint,
  ADD COLUMN IF NOT EXISTS sweep_pending boolean NOT NULL DEFAULT false,
  ADD COLUMN IF NOT EXISTS swept_snapshot_id bigint`;

/** Ids per round of a sweep: one keyset page of the external table, one lookup in the source. */
const sweepPageSize = 5_000;

/** An exact count of the users table may take this long (the server's statement_timeout). */
const usersCountTimeoutMs = 2_000;

/** Above this many rows (the planner's estimate) the users table is not counted exactly: a scan that size is the tenant's cost. */
const exactCountUpToRows = 1_000_000;

// Serialises first-use DDL when several sink processes meet a new database at once.
const ddlLockKey = 7_264_913_001;

export interface PostgresTargetOptions {
  /** Parsed and checked when saved; resolved and judged again at every connect. */
  connection: ExternalConnection;
  /** Names the target in errors and metrics, e.g. `<tenancyId>/<databaseId>`. */
  label: string;
  /**
   * Key of its connections in the process's budget: changes with the connection string, so a
   * connection to the previous target is never handed to the new one.
   */
  connectionKey: string;
  topic: string;
  mappings: readonly Mapping[];
  /** Connections are leased from the sink process's one budget, never pooled per database. */
  connections: ConnectionBudget<pg.Client, ExternalConnection>;
}

/** An external Postgres database, written through connections leased from the process's budget. */
export class PostgresTarget implements SyncTarget {
  constructor(private readonly options: PostgresTargetOptions) {}

  /** Runs `work` on a leased connection; a connection whose rollback failed is not reused. */
  async #withConnection<T>(stage: string, work: (client: pg.Client) => Promise<T>): Promise<T> {
    const lease = await this.options.connections.lease(this.options.connectionKey, this.options.connection).catch((error: unknown) => {
      throw this.#describe(error, stage);
    });
    let broken = false;
    try {
      return await work(lease.connection);
    } catch (error: unknown) {
      await lease.connection.query('ROLLBACK').catch(() => {
        broken = true;
      });
      throw error;
    } finally {
      lease.release(broken);
    }
  }

  async prepare(): Promise<PreparedProgress> {
    return this.#withConnection('connect', async (client) => {
      try {
        await client.query('BEGIN');
        await client.query('SELECT pg_advisory_xact_lock($1)', [ddlLockKey]);
        await client.query(metadataDdl);
        await client.query(coverageDdl);
        // Another tenancy's database is left exactly as it is: the DDL above rolls back with the rest.
        await this.#progress(client, true);
        for (const mapping of this.options.mappings) {
          await client.query(mapping.ddl);
          // Readable by every role, writable only by the sink's own role (the owner).
          await client.query(`GRANT SELECT ON ${mapping.table} TO PUBLIC`);
          // A new progress row names its source at once: the database is this topic's from now on.
          await client.query('INSERT INTO _stack_sync_metadata (mapping_name, source_topic) VALUES ($1, $2) ON CONFLICT DO NOTHING', [mapping.name, this.options.topic]);
        }
        // Rows made before sources were recorded (or by an operator) are claimed once, here.
        await client.query('UPDATE _stack_sync_metadata SET source_topic = $1 WHERE mapping_name = ANY($2) AND source_topic IS NULL', [
          this.options.topic,
          this.#mappingNames,
        ]);
        const progress = await this.#progress(client);
        await client.query('COMMIT');
        return progress;
      } catch (error: unknown) {
        throw this.#describe(error, 'prepare');
      }
    });
  }

  async apply(events: readonly OffsetEvent[], range: ApplyRange): Promise<ApplyResult> {
    let failingMapping: string | undefined;
    return this.#withConnection('connect', async (client) => {
    try {
      await client.query('BEGIN');
      // Locks the progress rows: a second sink process on this database waits here and then skips
      // what this one applied.
      const progress = await this.#progress(client, true);
      const covered = progress.coveredThrough;
      if (covered < range.resumedFrom) throw new ProgressRewoundError(this.options.label, covered, range.resumedFrom);
      // NO GAPS: the batch must start at or before the first offset not yet covered, whatever the
      // lane and the consumer believe; otherwise the records in between would be skipped for good.
      if (range.fetchedFrom > covered + 1n) throw new OffsetGapError(this.options.label, covered, range.fetchedFrom);
      if (range.through <= covered) {
        await client.query('ROLLBACK');
        return { applied: 0, appliedOffset: progress.appliedOffset, coveredThrough: progress.coveredThrough };
      }
      const fresh = events.filter((item) => item.offset > covered && item.offset <= range.through);
      const plan = planBatch(fresh, this.options.mappings);
      for (const table of plan?.tables ?? []) {
        failingMapping = table.mapping.name;
        if (table.deletes.size > 0) {
          const statement = deleteStatement(table.mapping.table, [...table.deletes]);
          await client.query(statement.text, statement.values);
        }
        const rows = [...table.upserts.values()];
        for (const statement of upsertStatements(table.mapping.table, table.mapping.columns, table.mapping.jsonColumns, rows)) {
          await client.query(statement.text, statement.values);
        }
      }
      failingMapping = 'users';
      if (plan && plan.touchedUserIds.size > 0) {
        const refresh = refreshPrimaryEmailStatement([...plan.touchedUserIds]);
        await client.query(refresh.text, refresh.values);
      }
      failingMapping = undefined;
      // EXACTLY ONCE: the progress row is written in the same transaction as the rows above, so
      // either both are durable or neither is, and a replay skips everything up to this offset.
      // It records the whole range covered (trailing tombstones and markers too), so the next
      // batch, read from right after it, passes the gap check above.
      const appliedOffset = plan?.lastOffset ?? progress.appliedOffset;
      await client.query(
        `UPDATE _stack_sync_metadata
            SET last_synced_sequence_id = $1, covered_through_offset = $2, covered_at_sequence_id = $1, updated_at = now(),
                source_topic = $3, last_commit_lsn = COALESCE($4, last_commit_lsn), last_seq = COALESCE($5, last_seq)
          WHERE mapping_name = ANY($6)`,
        [appliedOffset.toString(), range.through.toString(), this.options.topic, plan?.lastEvent?.source.commit_lsn ?? null, plan?.lastEvent?.source.seq ?? null, this.#mappingNames],
      );
      await client.query('COMMIT');
      return { applied: plan?.applied ?? 0, appliedOffset, coveredThrough: range.through };
    } catch (error: unknown) {
      const firstOffset = events[0]?.offset.toString() ?? range.fetchedFrom.toString();
      throw this.#describe(error, `apply${failingMapping ? ` of mapping ${failingMapping}` : ''} from offset ${firstOffset}`, {
        mapping: failingMapping,
        offset: firstOffset,
      });
    }
    });
  }

  get #mappingNames(): string[] {
    return this.options.mappings.map((mapping) => mapping.name);
  }

  /**
   * What every mapping has reached (the lowest row decides); `forUpdate` locks the rows until the
   * transaction ends. Progress rows written from another topic make the database another
   * tenancy's: refused.
   */
  async #progress(client: pg.Client, forUpdate = false): Promise<PreparedProgress> {
    const result = await client.query<{ applied: string; covered: string; source_topic: string | null; sweep_pending: boolean; swept_snapshot_id: string | null }>(
      `SELECT last_synced_sequence_id::text AS applied,
              (CASE WHEN covered_at_sequence_id = last_synced_sequence_id AND covered_through_offset >= last_synced_sequence_id
                    THEN covered_through_offset ELSE last_synced_sequence_id END)::text AS covered,
              source_topic, sweep_pending, swept_snapshot_id::text
         FROM _stack_sync_metadata WHERE mapping_name = ANY($1)${forUpdate ? ' FOR UPDATE' : ''}`,
      [this.#mappingNames],
    );
    if (result.rows.some((row) => row.source_topic !== null && row.source_topic !== this.options.topic)) throw new ForeignProgressError(this.options.label);
    const lowest = (values: bigint[]) => values.reduce((low, value) => (value < low ? value : low), values[0] ?? -1n);
    const swept = result.rows.map((row) => (row.swept_snapshot_id === null ? -1n : BigInt(row.swept_snapshot_id)));
    return {
      appliedOffset: lowest(result.rows.map((row) => BigInt(row.applied))),
      coveredThrough: lowest(result.rows.map((row) => BigInt(row.covered))),
      sweepPending: result.rows.some((row) => row.sweep_pending),
      sweptSnapshotId: lowest(swept),
    };
  }

  /**
   * Records that this database must be swept (its topic can no longer tell it every delete), so a
   * crash before the sweep does not forget it. `skipTo`: records below the topic's log start are
   * gone — the covered offset moves to just before it (the rows come back from a re-snapshot).
   */
  async requireSweep(skipTo?: bigint, rewindTo?: bigint): Promise<void> {
    await this.#withConnection('connect', async (client) => {
      try {
        if (rewindTo !== undefined) {
          // The topic starts over below this database's position: everything is read again.
          await client.query(
            `UPDATE _stack_sync_metadata SET sweep_pending = true, last_synced_sequence_id = $2, covered_through_offset = $2, covered_at_sequence_id = $2
              WHERE mapping_name = ANY($1)`,
            [this.#mappingNames, rewindTo.toString()],
          );
          return;
        }
        await client.query(
          `UPDATE _stack_sync_metadata
              SET sweep_pending = true,
                  covered_through_offset = CASE WHEN $2::bigint IS NULL THEN covered_through_offset ELSE GREATEST($2::bigint, last_synced_sequence_id) END,
                  covered_at_sequence_id = CASE WHEN $2::bigint IS NULL THEN covered_at_sequence_id ELSE last_synced_sequence_id END
            WHERE mapping_name = ANY($1)`,
          [this.#mappingNames, skipTo?.toString() ?? null],
        );
      } catch (error: unknown) {
        throw this.#describe(error, 'recording a pending sweep');
      }
    });
  }

  async reset(): Promise<void> {
    await this.#withConnection('connect', async (client) => {
      try {
        await client.query('BEGIN');
        // Under the progress rows' lock, so that no batch of this or another process interleaves;
        // a foreign database is refused here like everywhere else.
        await this.#progress(client, true);
        await client.query(`TRUNCATE ${this.options.mappings.map((mapping) => mapping.table).join(', ')}`);
        await client.query(
          `UPDATE _stack_sync_metadata
              SET last_synced_sequence_id = -1, covered_through_offset = -1, covered_at_sequence_id = -1, last_commit_lsn = NULL, last_seq = NULL,
                  sweep_pending = false, swept_snapshot_id = -1, updated_at = now()
            WHERE mapping_name = ANY($1)`,
          [this.#mappingNames],
        );
        await client.query('COMMIT');
      } catch (error: unknown) {
        throw this.#describe(error, 'rebuild');
      }
    });
  }

  async markSwept(snapshotId: bigint): Promise<void> {
    await this.#withConnection('connect', async (client) => {
      try {
        await client.query('UPDATE _stack_sync_metadata SET swept_snapshot_id = GREATEST(COALESCE(swept_snapshot_id, -1), $2) WHERE mapping_name = ANY($1)', [
          this.#mappingNames,
          snapshotId.toString(),
        ]);
      } catch (error: unknown) {
        throw this.#describe(error, 'recording a sweep');
      }
    });
  }

  /**
   * Removes the rows whose source row no longer exists, page by page (each page under the progress
   * lock, so no apply of another process interleaves), then records the sweep as done. Safe at any
   * position: a row absent from the source can only be deleted by the events still to come.
   * Returns the number of rows removed.
   */
  async sweep(existing: (table: SourceTable, ids: readonly string[]) => Promise<Set<string>>, snapshotId: bigint): Promise<number> {
    return this.#withConnection('connect', async (client) => {
      let failingMapping: string | undefined;
      try {
        let removed = 0;
        for (const mapping of this.options.mappings) {
          failingMapping = mapping.name;
          let after: string | undefined;
          for (;;) {
            const page = await client.query<{ id: string }>(
              `SELECT id::text FROM ${mapping.table}${after === undefined ? '' : ' WHERE id > $2::uuid'} ORDER BY id LIMIT $1`,
              after === undefined ? [sweepPageSize] : [sweepPageSize, after],
            );
            const ids = page.rows.map((row) => row.id);
            if (ids.length === 0) break;
            // Keyset paging only moves forward; a server answering otherwise would loop us forever.
            if (after !== undefined && !(ids.at(-1)! > after)) throw new SyncError('SINK_TARGET_FAILED', `external database ${this.options.label}: ids did not come back in order`, { target: this.options.label });
            after = ids.at(-1);
            // The internal database's errors are ours, not the tenant's to read in its status.
            const present = await existing(mapping.sourceTable, ids).catch((error: unknown) => {
              throw new SyncError('SINK_INTERNAL_ERROR', 'the sync failed on our side; it is retried', { target: this.options.label }, { cause: error });
            });
            const orphans = ids.filter((id) => !present.has(id));
            if (orphans.length === 0) continue;
            await client.query('BEGIN');
            await this.#progress(client, true);
            const deleted = await client.query<{ user_id: string | null }>(
              `DELETE FROM ${mapping.table} WHERE id = ANY($1::uuid[]) RETURNING ${mapping.table === 'contact_channels' ? 'user_id::text' : 'NULL::text'} AS user_id`,
              [orphans],
            );
            const users = [...new Set(deleted.rows.flatMap((row) => (row.user_id === null ? [] : [row.user_id])))];
            if (users.length > 0) {
              const refresh = refreshPrimaryEmailStatement(users);
              await client.query(refresh.text, refresh.values);
            }
            await client.query('COMMIT');
            removed += deleted.rowCount ?? 0;
          }
        }
        failingMapping = undefined;
        await client.query(`UPDATE _stack_sync_metadata SET sweep_pending = false, swept_snapshot_id = GREATEST(COALESCE(swept_snapshot_id, -1), $2) WHERE mapping_name = ANY($1)`, [
          this.#mappingNames,
          snapshotId.toString(),
        ]);
        return removed;
      } catch (error: unknown) {
        throw this.#describe(error, `sweep${failingMapping ? ` of mapping ${failingMapping}` : ''}`, { mapping: failingMapping });
      }
    });
  }

  /**
   * Counts the users table's rows, read-only and bounded, on the database's own idle connection
   * only (a count never opens a connection, evicts one or waits: it must not cost a batch
   * anything). A table the planner estimates at more than `exactCountUpToRows` shows that
   * estimate; a smaller one is counted exactly, within `usersCountTimeoutMs`. A server that does
   * not answer in time loses the connection (it may be a fake one that ignores statement_timeout).
   */
  async measureUsersTable(): Promise<UsersTableFigures | undefined> {
    const table = this.options.mappings.find((mapping) => mapping.sourceTable === 'ProjectUser')?.table;
    if (table === undefined) return { exists: false, totalRows: 0, estimated: false };
    const lease = this.options.connections.leaseIdle(this.options.connectionKey);
    if (!lease) return undefined;
    const client = lease.connection;
    // pg's own read timeout per query (in its client, missing from its types): the answer to a
    // statement the server should have ended after usersCountTimeoutMs.
    const query = <Row extends Record<string, unknown>>(text: string, values: unknown[] = []) => {
      const config: pg.QueryConfig & { query_timeout: number } = { text, values, query_timeout: usersCountTimeoutMs + 1_000 };
      return client.query<Row>(config);
    };
    let broken = true;
    try {
      await query('BEGIN READ ONLY');
      await query(`SET LOCAL statement_timeout = ${usersCountTimeoutMs}`);
      const found = await query<{ estimate: string | null; found: boolean }>(
        'SELECT (SELECT GREATEST(reltuples, 0)::bigint::text FROM pg_class WHERE oid = to_regclass($1)) AS estimate, to_regclass($1) IS NOT NULL AS found',
        [table],
      );
      const row = found.rows[0];
      let figures: UsersTableFigures;
      if (!row?.found) figures = { exists: false, totalRows: 0, estimated: false };
      else if (Number(row.estimate ?? 0) > exactCountUpToRows) figures = { exists: true, totalRows: Number(row.estimate), estimated: true };
      else {
        const counted = await query<{ rows: string }>(`SELECT count(*)::text AS rows FROM ${table}`);
        figures = { exists: true, totalRows: Number(counted.rows[0]?.rows ?? 0), estimated: false };
      }
      await query('COMMIT');
      broken = false;
      return figures;
    } catch (error: unknown) {
      throw this.#describe(error, 'counting the users table');
    } finally {
      // Any failure closes the connection: whatever the server is doing with it, no batch gets it.
      lease.release(broken);
    }
  }

  #describe(error: unknown, stage: string, context: Record<string, string | undefined> = {}): SyncError {
    if (error instanceof SyncError) return error;
    const state = sqlState(error);
    const message = error instanceof Error ? error.message : String(error);
    // 42501 insufficient_privilege: the sink's role may not create or write the mapped tables.
    const code = state === '42501' ? 'SINK_INSUFFICIENT_PRIVILEGE' : 'SINK_TARGET_FAILED';
    return new SyncError(
      code,
      `external database ${this.options.label} (${this.#databaseName}): ${stage} failed: ${message}`,
      { target: this.options.label, sqlState: state, ...context },
      { cause: error },
    );
  }

  /** `database "app" on db.example.com:5432`, without credentials, for error messages. */
  get #databaseName(): string {
    const { database, host, port } = this.options.connection;
    return `database "${database}" on ${host.includes(':') ? `[${host}]` : host}:${port}`;
  }

  async close(): Promise<void> {
    await this.options.connections.forget(this.options.connectionKey);
  }
}
