import pg from 'pg';
import { waitFor } from '../../../infra/wait-for';
import { PartProcess } from '../../harness/part-process';
import { benchSetup, type BenchSetup } from '../bench-setup';
import { applyLogSql, readApplyLogSql, type CaptureSystem } from './capture-system';

/** Our pipeline as production runs it: a cdc process (192 MB heap) and a sink process. */
export class StackSyncSystem implements CaptureSystem {
  readonly name = 'stack-sync';
  #parts: PartProcess[] = [];
  readonly #external: pg.Pool;

  private constructor(private readonly setup: BenchSetup) {
    this.#external = new pg.Pool({ connectionString: setup.externalUrl, max: 2 });
  }

  static async open(): Promise<StackSyncSystem> {
    return new StackSyncSystem(await benchSetup());
  }

  get internalUrl(): string {
    return this.setup.config.DATABASE_URL;
  }

  get tenancyId(): string {
    return this.setup.tenancyId;
  }

  get brokers(): string[] {
    return this.setup.config.KAFKA_BROKERS;
  }

  topics(): string[] {
    return [`${this.setup.config.CDC_TOPIC_PREFIX}.${this.setup.tenancyId}`];
  }

  async start(onSpawn: (pid: number) => void): Promise<void> {
    this.#parts = [new PartProcess('cdc', this.setup.config, 'bench-compare-cdc', ['--max-old-space-size=192']), new PartProcess('sink', this.setup.config, 'bench-compare-sink')];
    for (const part of this.#parts) {
      part.start();
      if (part.pid !== undefined) onSpawn(part.pid);
    }
    // The reader creates its slot on first start; changes before that would not be captured.
    await waitFor(
      'the cdc reader to stream its slot',
      async () => (await this.setup.internal.query('SELECT 1 FROM pg_replication_slots WHERE slot_name = $1 AND active', [this.setup.config.CDC_SLOT])).rowCount === 1,
      { timeoutMs: 120_000, intervalMs: 50 },
    );
  }

  async stop(): Promise<void> {
    for (const part of this.#parts) await part.stop();
    this.#parts = [];
  }

  pids(): number[] {
    return this.#parts.flatMap((part) => (part.pid === undefined ? [] : [part.pid]));
  }

  async appliedSignUpRows(label: string): Promise<number> {
    const { rows } = await this.#external.query<{ n: number }>(
      `SELECT ((SELECT count(*) FROM users WHERE display_name = $1) + (SELECT count(*) FROM contact_channels WHERE value = $1 || '@example.com'))::int AS n`,
      [label],
    );
    return rows[0]?.n ?? 0;
  }

  async installApplyLog(): Promise<void> {
    await this.#external.query(applyLogSql('users', 'NEW.display_name', `'D:' || OLD.id`));
  }

  async readApplyLog(): Promise<Map<string, number>> {
    const { rows } = await this.#external.query<{ label: string; at: number }>(readApplyLogSql);
    return new Map(rows.map((row) => [row.label, row.at]));
  }

  async diagnostics(): Promise<string> {
    return this.#parts.map((part, index) => `--- ${index === 0 ? 'cdc' : 'sink'}:\n${part.output.slice(-3_000)}`).join('\n');
  }

  async close(): Promise<void> {
    await this.stop();
    await this.#external.end();
    await this.setup.close();
  }
}
