import type { Pgoutput } from 'pg-logical-replication';
import { describe, expect, it } from 'vitest';
import { ProtocolError, TransactionAssembler } from './transaction-assembler';

function relation(name: string, schema = 'public'): Pgoutput.MessageRelation {
  return { tag: 'relation', relationOid: 1, schema, name, replicaIdentity: 'full', columns: [], keyColumns: [] };
}

const begin = (xid: number): Pgoutput.MessageBegin => ({ tag: 'begin', commitLsn: '0/2000', commitTime: 1_700_000_000_123_456n, xid });
const commit: Pgoutput.MessageCommit = { tag: 'commit', flags: 0, commitLsn: '0/2000', commitEndLsn: '0/2030', commitTime: 1_700_000_000_123_456n };

describe('TransactionAssembler', () => {
  it('collects a transaction’s changes of published tables and releases them at commit', () => {
    const assembler = new TransactionAssembler('stack');
    expect(assembler.accept('0/1000', begin(9))).toBeUndefined();
    expect(assembler.accept('0/1010', { tag: 'insert', relation: relation('ProjectUser'), new: { a: 1 } })).toBeUndefined();
    assembler.accept('0/1020', { tag: 'insert', relation: relation('Project'), new: { ignored: true } });
    assembler.accept('0/1030', { tag: 'update', relation: relation('ContactChannel'), key: null, old: { v: 1 }, new: { v: 2 } });
    assembler.accept('0/1040', { tag: 'delete', relation: relation('ProjectUser'), key: null, old: { a: 1 } });
    const transaction = assembler.accept('0/2000', commit);
    expect(transaction).toEqual({
      xid: 9,
      commitLsn: 0x2000n,
      commitEndLsn: 0x2030n,
      commitTimeMs: 1_700_000_000_123,
      database: 'stack',
      changes: [
        { table: 'ProjectUser', kind: 'insert', lsn: 0x1010n, before: null, after: { a: 1 } },
        { table: 'ContactChannel', kind: 'update', lsn: 0x1030n, before: { v: 1 }, after: { v: 2 } },
        { table: 'ProjectUser', kind: 'delete', lsn: 0x1040n, before: { a: 1 }, after: null },
      ],
    });
  });

  it('cuts a large transaction into segments; only the last one carries the commit end', () => {
    const assembler = new TransactionAssembler('stack', 2);
    assembler.accept('0/1000', begin(9));
    const segments = [];
    for (let index = 0; index < 5; index++) {
      const segment = assembler.accept(`0/${1010 + index}`, { tag: 'insert', relation: relation('ProjectUser'), new: { n: index } });
      if (segment) segments.push(segment);
    }
    segments.push(assembler.accept('0/2000', commit));
    expect(segments.map((segment) => segment?.changes.map((change) => change.after?.n))).toEqual([[0, 1], [2, 3], [4]]);
    expect(segments.map((segment) => segment?.commitEndLsn)).toEqual([undefined, undefined, 0x2030n]);
    // Every segment knows its transaction from the BEGIN on.
    for (const segment of segments) expect(segment).toMatchObject({ xid: 9, commitLsn: 0x2000n, commitTimeMs: 1_700_000_000_123, database: 'stack' });
  });

  it('ignores same-named tables of other schemas', () => {
    const assembler = new TransactionAssembler('stack');
    assembler.accept('0/1', begin(1));
    assembler.accept('0/2', { tag: 'insert', relation: relation('ProjectUser', 'audit'), new: {} });
    expect(assembler.accept('0/3', commit)?.changes).toEqual([]);
  });

  it('starts clean after each commit', () => {
    const assembler = new TransactionAssembler('stack');
    assembler.accept('0/1', begin(1));
    assembler.accept('0/2', { tag: 'insert', relation: relation('ProjectUser'), new: { n: 1 } });
    assembler.accept('0/3', commit);
    assembler.accept('0/4', begin(2));
    expect(assembler.accept('0/5', commit)?.changes).toEqual([]);
  });

  it('refuses message orders pgoutput never sends', () => {
    const assembler = new TransactionAssembler('stack');
    expect(() => assembler.accept('0/1', commit)).toThrow(ProtocolError);
    expect(() => assembler.accept('0/1', { tag: 'insert', relation: relation('ProjectUser'), new: {} })).toThrow(ProtocolError);
    assembler.accept('0/1', begin(1));
    expect(() => assembler.accept('0/2', begin(2))).toThrow(/inside/);
  });
});
