import { z } from 'zod';

/**
 * The fusebox's switches (DESIGN.md "Operations") and what they decide. Pure: the poller that reads
 * them (infra/runtime/fusebox-poller.ts) and the API that writes them share these rules.
 */

/** One stored switch ("SyncSwitch" row). */
export const switchRowSchema = z.object({
  scope: z.enum(['global', 'project', 'database']),
  projectId: z.string(),
  databaseId: z.string(),
  name: z.string(),
  enabled: z.boolean(),
});
export type SwitchRow = z.infer<typeof switchRowSchema>;

export const globalSwitchNames = ['cdc_enabled', 'sink_enabled'] as const;
export type GlobalSwitchName = (typeof globalSwitchNames)[number];

/** What the switches say, looked up by the processes that obey them. Every switch defaults to on. */
export class FuseboxState {
  readonly #off: ReadonlySet<string>;

  constructor(rows: readonly SwitchRow[]) {
    this.#off = new Set(rows.filter((row) => !row.enabled).map((row) => switchKey(row)));
  }

  static readonly allOn = new FuseboxState([]);

  get cdcEnabled(): boolean {
    return !this.#off.has(switchKey({ scope: 'global', projectId: '', databaseId: '', name: 'cdc_enabled' }));
  }

  get sinkEnabled(): boolean {
    return !this.#off.has(switchKey({ scope: 'global', projectId: '', databaseId: '', name: 'sink_enabled' }));
  }

  projectSinkEnabled(projectId: string): boolean {
    return !this.#off.has(switchKey({ scope: 'project', projectId, databaseId: '', name: 'sink_enabled' }));
  }

  databaseEnabled(projectId: string, databaseId: string): boolean {
    return !this.#off.has(switchKey({ scope: 'database', projectId, databaseId, name: 'enabled' }));
  }

  /** Why a database is paused (the widest switch that is off), or undefined when it may sync. */
  databasePausedBy(projectId: string, databaseId: string): 'global' | 'project' | 'database' | undefined {
    if (!this.sinkEnabled) return 'global';
    if (!this.projectSinkEnabled(projectId)) return 'project';
    if (!this.databaseEnabled(projectId, databaseId)) return 'database';
    return undefined;
  }

  /** Equal states make equal fingerprints (processes act only on changes). */
  get fingerprint(): string {
    return [...this.#off].sort().join('\n');
  }
}

function switchKey(row: Pick<SwitchRow, 'scope' | 'projectId' | 'databaseId' | 'name'>): string {
  return JSON.stringify([row.scope, row.projectId, row.databaseId, row.name]);
}

/** Body of `POST /internal/db-sync/fusebox`: the switches to set; the others keep their state. */
export const fuseboxUpdateBody = z.strictObject({
  /** Global switches: only with the internal admin key. */
  global: z.strictObject({ cdc_enabled: z.boolean().optional(), sink_enabled: z.boolean().optional() }).optional(),
  /** The authenticated project's switches: with its admin key (or the internal admin key and `project_id`). */
  project: z.strictObject({ sink_enabled: z.boolean().optional() }).optional(),
});
export type FuseboxUpdate = z.infer<typeof fuseboxUpdateBody>;

/** The rows a fusebox update writes, for `projectId` when it names project switches. */
export function switchRowsOf(update: FuseboxUpdate, projectId: string | undefined): SwitchRow[] {
  const rows: SwitchRow[] = [];
  for (const name of globalSwitchNames) {
    const enabled = update.global?.[name];
    if (enabled !== undefined) rows.push({ scope: 'global', projectId: '', databaseId: '', name, enabled });
  }
  const projectSink = update.project?.sink_enabled;
  if (projectSink !== undefined && projectId !== undefined) rows.push({ scope: 'project', projectId, databaseId: '', name: 'sink_enabled', enabled: projectSink });
  return rows;
}
