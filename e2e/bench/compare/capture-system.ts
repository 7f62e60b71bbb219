/**
 * What `npm run bench:compare` runs the workload through: a capture pipeline from the internal
 * database's WAL to Kafka and on into an external Postgres database. Ours and Debezium's
 * implement it; the measurement (compare-run.ts) sees only this.
 */
export interface CaptureSystem {
  /** As printed in the table, e.g. `stack-sync`, `debezium (tuned)`. */
  readonly name: string;
  /** The internal database the workload writes into, and the tenancy it writes for. */
  readonly internalUrl: string;
  readonly tenancyId: string;
  /** Kafka brokers and the topics the change events land on (existing once the first change was captured). */
  readonly brokers: string[];
  topics(): string[];
  /** Starts the processes; `onSpawn` gets each pid as soon as it exists. */
  start(onSpawn: (pid: number) => void): Promise<void>;
  /** Stops them gracefully (they keep their positions for the next start). */
  stop(): Promise<void>;
  /** The pids of the running processes (for CPU time and peak RSS). */
  pids(): number[];
  /** How many of the user row and email row of the sign-up labelled `label` are in the external database (2 once applied). */
  appliedSignUpRows(label: string): Promise<number>;
  /** From now on, records in the external database when each label is first applied (a trigger on the users table). */
  installApplyLog(): Promise<void>;
  /** Label → epoch ms when the external database applied it (the external server's clock; same machine). */
  readApplyLog(): Promise<Map<string, number>>;
  /** The tail of its processes' output, for the message of a failed run. */
  diagnostics(): Promise<string>;
  /** Drops its databases, slot and topics. */
  close(): Promise<void>;
}

/** SQL of the apply log: a table and a trigger on `table` recording each row's label as it is written. */
export function applyLogSql(table: string, labelOfNew: string, labelOfOld: string): string {
  return `CREATE TABLE IF NOT EXISTS public.bench_apply_log (label text NOT NULL, applied_at timestamptz NOT NULL DEFAULT clock_timestamp());
    CREATE OR REPLACE FUNCTION public.bench_apply_log() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      IF TG_OP = 'DELETE' THEN
        INSERT INTO public.bench_apply_log (label) VALUES (${labelOfOld});
      ELSE
        INSERT INTO public.bench_apply_log (label) VALUES (${labelOfNew});
      END IF;
      RETURN NULL;
    END $$;
    CREATE TRIGGER bench_apply_log AFTER INSERT OR UPDATE OR DELETE ON ${table} FOR EACH ROW EXECUTE FUNCTION public.bench_apply_log();`;
}

export const readApplyLogSql = `SELECT label, (extract(epoch FROM min(applied_at)) * 1000)::float8 AS at FROM public.bench_apply_log GROUP BY label`;
