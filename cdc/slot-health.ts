import type pg from 'pg';
import { errorMessage, SyncError } from '../infra/runtime/errors';

/**
 * What an operator needs to know about the reader's slot:
 * - `healthy`: the slot holds all the WAL the reader still needs (`wal_status` reserved/extended);
 * - `at_risk`: `unreserved` — past `max_slot_wal_keep_size`, the next checkpoint may remove WAL
 *   the reader has not confirmed yet;
 * - `lost`: that WAL is gone: changes since the slot's position can no longer be read;
 * - `missing`: the slot does not exist (dropped, or not created yet).
 */
export const slotConditions = ['healthy', 'at_risk', 'lost', 'missing'] as const;
export type SlotCondition = (typeof slotConditions)[number];

export interface SlotHealth {
  slot: string;
  condition: SlotCondition;
  /** pg_replication_slots.wal_status; null when the slot is missing. */
  walStatus: string | null;
  /** Whether a reader is streaming from it now. */
  active: boolean;
  /** WAL between the server's current position and the slot's confirmed flush position. */
  retainedBytes: number | null;
  /** WAL that may still be written before the slot becomes `lost` (null: no limit configured). */
  safeWalSizeBytes: number | null;
}

export function slotCondition(walStatus: string | null | undefined): SlotCondition {
  switch (walStatus) {
    case undefined:
      return 'missing';
    case 'reserved':
    case 'extended':
      return 'healthy';
    case 'unreserved':
      return 'at_risk';
    default:
      // 'lost', or a status a future Postgres adds: never report an unknown state as healthy.
      return 'lost';
  }
}

export async function readSlotHealth(db: pg.Pool, slot: string): Promise<SlotHealth> {
  const result = await db.query<{ wal_status: string | null; active: boolean; retained: string | null; safe: string | null }>(
    `SELECT wal_status, active,
            pg_wal_lsn_diff(pg_current_wal_lsn(), confirmed_flush_lsn)::text AS retained,
            safe_wal_size::text AS safe
       FROM pg_replication_slots WHERE slot_name = $1`,
    [slot],
  );
  const row = result.rows[0];
  return {
    slot,
    condition: slotCondition(row ? row.wal_status : undefined),
    walStatus: row?.wal_status ?? null,
    active: row?.active ?? false,
    retainedBytes: row?.retained === null || row?.retained === undefined ? null : Number(row.retained),
    safeWalSizeBytes: row?.safe === null || row?.safe === undefined ? null : Number(row.safe),
  };
}

export interface CdcHealth {
  /**
   * `ok`: streaming on a healthy slot; `degraded`: the slot is at risk; `paused`: switched off in
   * the fusebox on purpose (the slot keeps its WAL; not a failure); `failing`: not publishing.
   */
  status: 'ok' | 'degraded' | 'paused' | 'failing';
  reader: { state: 'running' | 'paused' | 'stopped'; error?: { code: string; message: string } };
  slot: SlotHealth | { slot: string; error: string };
}

/** The cdc part's `/health`: the reader's state and its slot's, read when asked. */
/** What the reader does now, for `cdc_reader_state`: `starting` until it first streamed (waiting for Postgres or Kafka). */
export const readerStates = ['starting', 'running', 'paused', 'stopped'] as const;
export type ReaderState = (typeof readerStates)[number];

export class CdcHealthMonitor {
  #failure: unknown;
  #paused: (() => boolean) | undefined;

  constructor(
    private readonly db: pg.Pool,
    private readonly slot: string,
  ) {}

  /** The reader stopped for good (a schema mismatch, a slot of the wrong kind): health says why. */
  failed(error: unknown): void {
    this.#failure = error;
  }

  /** Where to ask whether the reader is switched off in the fusebox. */
  pausedWhen(paused: () => boolean): void {
    this.#paused = paused;
  }

  /** Cheap (no query), so a scrape can read it; `pausedWhen` is called once the reader started. */
  readerState(): ReaderState {
    if (this.#failure !== undefined) return 'stopped';
    if (this.#paused === undefined) return 'starting';
    return this.#paused() ? 'paused' : 'running';
  }

  async report(): Promise<CdcHealth> {
    const failure = this.#failure;
    const paused = failure === undefined && (this.#paused?.() ?? false);
    const reader: CdcHealth['reader'] =
      failure === undefined
        ? { state: paused ? 'paused' : 'running' }
        : { state: 'stopped', error: { code: failure instanceof SyncError ? failure.code : 'CDC_FAILED', message: errorMessage(failure) } };
    let slot: CdcHealth['slot'];
    try {
      slot = await readSlotHealth(this.db, this.slot);
    } catch (error: unknown) {
      slot = { slot: this.slot, error: errorMessage(error) };
    }
    const condition = 'condition' in slot ? slot.condition : undefined;
    const status =
      failure !== undefined || condition === 'lost' || condition === 'missing' || condition === undefined ? 'failing' : paused ? 'paused' : condition === 'at_risk' ? 'degraded' : 'ok';
    return { status, reader, slot };
  }
}
