import type { Pgoutput } from 'pg-logical-replication';
import type { RowImage, SourceTable } from '../schema/change-event';
import type { SourceChange, SourceSegment, SourceTransactionInfo } from './change-source';
import { parseLsn, type Lsn } from './lsn';
import { snapshotMarkSchema, snapshotPrefix, type SnapshotMark } from './snapshotter';

const publishedTables: ReadonlySet<string> = new Set<SourceTable>(['ProjectUser', 'ContactChannel']);

function isPublishedTable(schema: string, name: string): name is SourceTable {
  return schema === 'public' && publishedTables.has(name);
}

/** Thrown for a message sequence that pgoutput never produces: the stream must be restarted. */
export class ProtocolError extends Error {
  readonly code = 'CDC_PROTOCOL_ERROR';
}

/** Changes per segment: a few MB of row images at most, however large the transaction. */
export const defaultSegmentChanges = 1_000;

/**
 * Cuts one transaction's changes between BEGIN and COMMIT into segments (pgoutput v1 sends a
 * transaction contiguously, only once it has committed, so rolled-back work never reaches us, and
 * everything a segment needs — xid, commit LSN, commit time — is in the BEGIN). Pure: it owns no
 * connection and is fed one decoded message at a time.
 */
export class TransactionAssembler {
  #current: { info: SourceTransactionInfo; changes: SourceChange[]; marks: SnapshotMark[] } | undefined;

  constructor(
    private readonly database: string,
    private readonly segmentChanges = defaultSegmentChanges,
  ) {}

  /** Returns a segment when one is full, and the transaction's last one on COMMIT; otherwise undefined. */
  accept(lsn: string, message: Pgoutput.Message): SourceSegment | undefined {
    switch (message.tag) {
      case 'begin': {
        if (this.#current) throw new ProtocolError(`BEGIN of xid ${message.xid} inside xid ${this.#current.info.xid}`);
        if (message.commitLsn === null) throw new ProtocolError(`BEGIN of xid ${message.xid} without a commit LSN`);
        this.#current = {
          info: { xid: message.xid, commitLsn: parseLsn(message.commitLsn), commitTimeMs: Number((message.commitTime as bigint) / 1000n), database: this.database },
          changes: [],
          marks: [],
        };
        return undefined;
      }
      case 'message': {
        // Transactional logical messages: heartbeats (ignored) and snapshot watermarks.
        if (!message.transactional || message.prefix !== snapshotPrefix) return undefined;
        const mark = snapshotMarkSchema.safeParse(parseJson(Buffer.from(message.content).toString('utf8')));
        if (mark.success) this.#requireTransaction('message').marks.push(mark.data);
        return undefined;
      }
      case 'insert':
      case 'update':
      case 'delete': {
        const current = this.#requireTransaction(message.tag);
        const { schema, name } = message.relation;
        if (!isPublishedTable(schema, name)) return undefined;
        current.changes.push(toChange(name, parseLsn(lsn), message));
        if (current.changes.length < this.segmentChanges) return undefined;
        const changes = current.changes;
        current.changes = [];
        return { ...current.info, changes };
      }
      case 'commit': {
        const current = this.#requireTransaction('commit');
        this.#current = undefined;
        if (message.commitEndLsn === null) throw new ProtocolError(`COMMIT of xid ${current.info.xid} without an end LSN`);
        return { ...current.info, changes: current.changes, commitEndLsn: parseLsn(message.commitEndLsn), ...(current.marks.length > 0 ? { marks: current.marks } : {}) };
      }
      default:
        // relation, type and origin messages only feed the parser's caches; truncate is not
        // part of our publication's operations (see the publication migration).
        return undefined;
    }
  }

  #requireTransaction(what: string): { info: SourceTransactionInfo; changes: SourceChange[]; marks: SnapshotMark[] } {
    if (!this.#current) throw new ProtocolError(`${what} outside a transaction`);
    return this.#current;
  }
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

function toChange(
  table: SourceTable,
  lsn: Lsn,
  message: Pgoutput.MessageInsert | Pgoutput.MessageUpdate | Pgoutput.MessageDelete,
): SourceChange {
  switch (message.tag) {
    case 'insert':
      return { table, kind: 'insert', lsn, before: null, after: message.new as RowImage };
    case 'update':
      // With REPLICA IDENTITY FULL the old tuple is complete; `key` would only hold key columns.
      return { table, kind: 'update', lsn, before: (message.old ?? message.key) as RowImage | null, after: message.new as RowImage };
    case 'delete':
      return { table, kind: 'delete', lsn, before: (message.old ?? message.key) as RowImage | null, after: null };
  }
}
