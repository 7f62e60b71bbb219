import Table from 'cli-table3';
import { z } from 'zod';

/** One external database as the status API shows it (api/db-sync-status-view.ts); unknown fields are ignored. */
export const databaseStatusSchema = z.object({
  id: z.string(),
  status: z.string(),
  paused_by: z.string().nullable(),
  last_synced_sequence_id: z.string().nullable(),
  backlog: z.number().nullable(),
  lag_seconds: z.number().nullable(),
  error: z.object({ code: z.string(), message: z.string() }).nullable(),
  connection: z.object({ host: z.string(), port: z.number(), database: z.string() }).nullable(),
  rebuild: z.object({ state: z.string(), records_done: z.number(), records_total: z.number().nullable() }).nullable(),
  /** Absent from servers older than the field. */
  users_table: z.object({ exists: z.boolean(), total_rows: z.number(), total_rows_estimated: z.boolean() }).nullable().optional(),
});
export type DatabaseStatus = z.infer<typeof databaseStatusSchema>;

export const projectStatusSchema = z.object({
  tenancy_id: z.string(),
  fusebox: z.object({ cdc_enabled: z.boolean(), sink_enabled: z.boolean(), project_sink_enabled: z.boolean() }),
  topic: z.object({ name: z.string(), high_offset: z.string().nullable() }).nullable().optional(),
  external_databases: z.array(databaseStatusSchema),
});

export const globalStatusSchema = z.object({
  global: z.object({
    tenancies: z.number(),
    tenancies_with_sync: z.number(),
    external_databases: z.number(),
    external_databases_by_status: z.record(z.string(), z.number()),
    fusebox: z.object({ cdc_enabled: z.boolean(), sink_enabled: z.boolean() }),
    reader: z.object({ slot: z.string(), state: z.string(), slot_condition: z.string(), slot_retained_bytes: z.number().nullable(), slot_safe_wal_size_bytes: z.number().nullable() }),
    sink: z.object({ processes: z.number(), lanes: z.number() }),
  }),
  tenancies: z.array(z.object({ tenancy_id: z.string(), project_id: z.string(), external_databases: z.array(databaseStatusSchema) })),
});

/** `0 s`, `4.2 s`, `3 min 12 s`, `2 h 5 min`: a lag a person reads at a glance. */
export function formatSeconds(seconds: number | null): string {
  if (seconds === null) return '?';
  if (seconds < 10) return `${Math.round(seconds * 10) / 10} s`;
  if (seconds < 60) return `${Math.round(seconds)} s`;
  if (seconds < 3_600) return `${Math.floor(seconds / 60)} min ${Math.round(seconds % 60)} s`;
  return `${Math.floor(seconds / 3_600)} h ${Math.round((seconds % 3_600) / 60)} min`;
}

/** `0 B`, `12.5 MiB`. */
export function formatBytes(bytes: number | null): string {
  if (bytes === null) return '?';
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return `${unit === 0 ? value : value.toFixed(1)} ${units[unit]}`;
}

function statusCell(database: DatabaseStatus): string {
  if (database.status === 'paused') return `paused (${database.paused_by ?? 'sink'})`;
  if (database.status === 'error' && database.error) return `error: ${database.error.code}`;
  return database.status;
}

/** `1,204`, `~3,100,000` (an estimate), `no table`, `?` (not counted yet). */
function usersCell(database: DatabaseStatus): string {
  const users = database.users_table;
  if (!users) return '?';
  if (!users.exists) return 'no table';
  return `${users.total_rows_estimated ? '~' : ''}${users.total_rows.toLocaleString('en-US')}`;
}

function rebuildCell(database: DatabaseStatus): string {
  const { rebuild } = database;
  if (!rebuild) return '';
  if (rebuild.state === 'done') return 'done';
  return rebuild.records_total ? `${rebuild.state} ${Math.floor((100 * rebuild.records_done) / Math.max(1, rebuild.records_total))}%` : rebuild.state;
}

/** The databases as a table, one row each (plain text when `colors` is off, e.g. not a terminal). */
export function databaseTable(rows: readonly { tenancyId?: string; database: DatabaseStatus }[], colors = false): string {
  const withTenancy = rows.some((row) => row.tenancyId !== undefined);
  const table = new Table({
    head: [...(withTenancy ? ['tenancy'] : []), 'database', 'where', 'status', 'lag', 'backlog', 'applied offset', 'users', 'rebuild'],
    style: { head: colors ? ['cyan'] : [], border: colors ? ['grey'] : [] },
  });
  for (const { tenancyId, database } of rows) {
    const where = database.connection ? `${database.connection.host}:${database.connection.port}/${database.connection.database}` : '—';
    table.push([
      ...(withTenancy ? [tenancyId ?? ''] : []),
      database.id,
      where,
      statusCell(database),
      formatSeconds(database.lag_seconds),
      database.backlog === null ? '?' : String(database.backlog),
      database.last_synced_sequence_id ?? '—',
      usersCell(database),
      rebuildCell(database),
    ]);
  }
  return table.toString();
}

/** The whole deployment: global figures, then every database. */
export function globalReport(status: z.infer<typeof globalStatusSchema>, colors = false): string {
  const { global } = status;
  const byStatus = Object.entries(global.external_databases_by_status)
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([name, count]) => `${count} ${name}`)
    .join(', ');
  const lines = [
    `reader   ${global.reader.state} on slot ${global.reader.slot} (${global.reader.slot_condition}; ${formatBytes(global.reader.slot_retained_bytes)} WAL retained${global.reader.slot_safe_wal_size_bytes === null ? '' : `, ${formatBytes(global.reader.slot_safe_wal_size_bytes)} before the limit`})`,
    `sinks    ${global.sink.processes} process(es), ${global.sink.lanes} tenancy lane(s)`,
    `fusebox  cdc ${global.fusebox.cdc_enabled ? 'on' : 'OFF'}, sink ${global.fusebox.sink_enabled ? 'on' : 'OFF'}`,
    `tenancies ${global.tenancies} (${global.tenancies_with_sync} with sync); external databases ${global.external_databases}${byStatus ? ` (${byStatus})` : ''}`,
  ];
  const rows = status.tenancies.flatMap((tenancy) => tenancy.external_databases.map((database) => ({ tenancyId: tenancy.tenancy_id, database })));
  return rows.length === 0 ? lines.join('\n') : `${lines.join('\n')}\n${databaseTable(rows, colors)}`;
}
