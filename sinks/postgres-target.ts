import type pg from 'pg';
import { SyncError, sqlState } from '../infra/runtime/errors';
import { planBatch, type OffsetEvent } from './batch-plan';
import type { ConnectionBudget } from './connection-budget';
import type { Mapping } from './mapping';
import { deleteStatement, refreshPrimaryEmailStatement, upsertStatements } from './sql';
import { ProgressRewoundError, type ApplyResult, type SyncTarget } from './target';

const metadataDdl = `CREATE TABLE IF NOT EXISTS _stack_sync_metadata (
  mapping_name text PRIMARY KEY,
  last_synced_sequence_id bigint NOT NULL DEFAULT -1,
  updated_at timestamp NOT NULL DEFAULT now(),
  source_topic text,
  last_commit_lsn text,
  last_seq integer
)`;

// Serialises first-use DDL when several sink processes meet a new database at once.
const ddlLockKey = 7_264_913_001;

export interface PostgresTargetOptions {
  connectionString: string;
  /** Names the target in errors and metrics, e.g. `<tenancyId>/<databaseId>`. */
  label: string;
  topic: string;
  mappings: readonly Mapping[];
  /** Connections are leased from the sink process's one budget, never pooled per database. */
  connections: ConnectionBudget<pg.Client>;
}

/** An external Postgres database, written through connections leased from the process's budget. */
export class PostgresTarget implements SyncTarget {
  constructor(private readonly options: PostgresTargetOptions) {}

  /** Runs `work` on a leased connection; a connection whose rollback failed is not reused. */
  async #withConnection<T>(stage: string, work: (client: pg.Client) => Promise<T>): Promise<T> {
    const lease = await this.options.connections.lease(this.options.label, this.options.connectionString).catch((error: unknown) => {
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

  async prepare(): Promise<bigint> {
    return this.#withConnection('connect', async (client) => {
      try {
      await client.query('BEGIN');
      await client.query('SELECT pg_advisory_xact_lock($1)', [ddlLockKey]);
      await client.query(metadataDdl);
      for (const mapping of this.options.mappings) {
        await client.query(mapping.ddl);
        // Readable by every role, writable only by the sink's own role (the owner).
        await client.query(`GRANT SELECT ON ${mapping.table} TO PUBLIC`);
        await client.query('INSERT INTO _stack_sync_metadata (mapping_name) VALUES ($1) ON CONFLICT DO NOTHING', [mapping.name]);
      }
      await client.query('COMMIT');
      return await this.#progress(client);
      } catch (error: unknown) {
        throw this.#describe(error, 'prepare');
      }
    });
  }

  async apply(events: readonly OffsetEvent[], resumedFrom: bigint): Promise<ApplyResult> {
    let failingMapping: string | undefined;
    return this.#withConnection('connect', async (client) => {
    try {
      await client.query('BEGIN');
      // Locks the progress rows: a second sink process on this database waits here and then skips
      // what this one applied.
      const progress = await this.#progress(client, true);
      if (progress < resumedFrom) throw new ProgressRewoundError(this.options.label, progress, resumedFrom);
      const fresh = events.filter((item) => item.offset > progress);
      const plan = planBatch(fresh, this.options.mappings);
      if (!plan) {
        await client.query('ROLLBACK');
        return { applied: 0, appliedOffset: progress };
      }
      for (const table of plan.tables) {
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
      if (plan.touchedUserIds.size > 0) {
        const refresh = refreshPrimaryEmailStatement([...plan.touchedUserIds]);
        await client.query(refresh.text, refresh.values);
      }
      // EXACTLY ONCE: the progress row is written in the same transaction as the rows above, so
      // either both are durable or neither is, and a replay skips everything up to this offset.
      await client.query(
        `UPDATE _stack_sync_metadata
            SET last_synced_sequence_id = $1, updated_at = now(), source_topic = $2, last_commit_lsn = $3, last_seq = $4
          WHERE mapping_name = ANY($5)`,
        [
          plan.lastOffset.toString(),
          this.options.topic,
          plan.lastEvent.source.commit_lsn,
          plan.lastEvent.source.seq,
          this.options.mappings.map((mapping) => mapping.name),
        ],
      );
      await client.query('COMMIT');
      return { applied: plan.applied, appliedOffset: plan.lastOffset };
    } catch (error: unknown) {
      const firstOffset = events[0]?.offset.toString();
      throw this.#describe(error, `apply${failingMapping ? ` of mapping ${failingMapping}` : ''} from offset ${firstOffset}`, {
        mapping: failingMapping,
        offset: firstOffset,
      });
    }
    });
  }

  /** The offset every mapping has reached; `forUpdate` locks the rows until the transaction ends. */
  async #progress(client: pg.Client, forUpdate = false): Promise<bigint> {
    const rows = `SELECT last_synced_sequence_id FROM _stack_sync_metadata WHERE mapping_name = ANY($1)${forUpdate ? ' FOR UPDATE' : ''}`;
    const result = await client.query<{ offset: string | null }>(`SELECT min(last_synced_sequence_id)::text AS offset FROM (${rows}) progress`, [
      this.options.mappings.map((mapping) => mapping.name),
    ]);
    return BigInt(result.rows[0]?.offset ?? '-1');
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
    try {
      const url = new URL(this.options.connectionString);
      return `database "${decodeURIComponent(url.pathname.slice(1))}" on ${url.host}`;
    } catch {
      return 'database with an unparsable connection string';
    }
  }

  async close(): Promise<void> {
    await this.options.connections.forget(this.options.label);
  }
}
