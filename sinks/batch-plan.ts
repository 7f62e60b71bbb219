import type { ChangeEvent } from '../schema/change-event';
import type { CellValue, Mapping } from './mapping';

/** An event read from a tenant topic, with its offset: the tenant's ordered sequence id. */
export interface OffsetEvent {
  offset: bigint;
  event: ChangeEvent;
  /** Rebuilt from a tombstone (sinks/tombstone.ts): it has no source time or position of its own. */
  fromTombstone?: true;
}

export interface TablePlan {
  mapping: Mapping;
  /** Final rows to put, by id. */
  upserts: Map<string, Record<string, CellValue>>;
  /** Ids whose final state is "absent". */
  deletes: Set<string>;
}

/** What one transaction against an external database must do for a batch of events. */
export interface BatchPlan {
  tables: TablePlan[];
  /** Users whose primary email columns must be derived again from `contact_channels`. */
  touchedUserIds: Set<string>;
  /** Offset of the last event in the batch: the progress to record. */
  lastOffset: bigint;
  /** The last event with a source position of its own (none when the batch held only tombstones). */
  lastEvent: ChangeEvent | undefined;
  applied: number;
}

/**
 * Reduces a batch, in offset order, to each row's final state. Every event carries the whole row
 * image, so the last event of a key decides it: create → update → delete → create ends as the last
 * create. Applying the plan once is the same as applying every event in order.
 */
export function planBatch(events: readonly OffsetEvent[], mappings: readonly Mapping[]): BatchPlan | undefined {
  const last = events.at(-1);
  if (!last) return undefined;
  const tables = mappings.map<TablePlan>((mapping) => ({ mapping, upserts: new Map(), deletes: new Set() }));
  const touchedUserIds = new Set<string>();
  for (const { event } of events) {
    const row = event.after ?? event.before;
    if (row && typeof row.projectUserId === 'string') touchedUserIds.add(row.projectUserId);
    for (const plan of tables) {
      for (const operation of plan.mapping.map(event)) {
        if (operation.kind === 'upsert') {
          plan.deletes.delete(operation.id);
          plan.upserts.set(operation.id, operation.row);
        } else {
          plan.upserts.delete(operation.id);
          plan.deletes.add(operation.id);
        }
      }
    }
  }
  const lastEvent = events.findLast((item) => !item.fromTombstone)?.event;
  return { tables, touchedUserIds, lastOffset: last.offset, lastEvent, applied: events.length };
}
