import { describe, expect, it } from 'vitest';
import { changeEventSchema, type ChangeEvent } from '../schema/change-event';
import type { SourceChange, SourceTransaction } from './change-source';
import { messageKey, TransactionRecordBuilder, transactionRecords } from './envelope';

const tenancyA = '11111111-1111-4111-8111-111111111111';
const tenancyB = '22222222-2222-4222-8222-222222222222';
const userId = '33333333-3333-4333-8333-333333333333';

function user(tenancyId: string, overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return { tenancyId, projectUserId: userId, displayName: 'Ada', createdAt: '2024-01-01T00:00:00.000Z', ...overrides };
}

function transaction(changes: SourceChange[]): SourceTransaction {
  return { xid: 731, commitLsn: 0x1000n, commitEndLsn: 0x1040n, commitTimeMs: 1_700_000_000_000, database: 'stack', changes };
}

function events(records: ReturnType<typeof transactionRecords>): ChangeEvent[] {
  return records.flatMap((record) => (record.value === null ? [] : [changeEventSchema.parse(JSON.parse(record.value))]));
}

describe('transaction → envelope records', () => {
  it('builds Debezium-style envelopes that the contract schema accepts', () => {
    const records = transactionRecords(
      transaction([
        { table: 'ProjectUser', kind: 'insert', lsn: 0x0f00n, before: null, after: user(tenancyA) },
        { table: 'ProjectUser', kind: 'update', lsn: 0x0f10n, before: user(tenancyA), after: user(tenancyA, { displayName: 'Lovelace' }) },
      ]),
      'stack.cdc',
      42,
    );
    expect(records.map((record) => record.topic)).toEqual([`stack.cdc.${tenancyA}`, `stack.cdc.${tenancyA}`]);
    const [insert, update] = events(records);
    expect(insert).toEqual({
      before: null,
      after: user(tenancyA),
      op: 'c',
      ts_ms: 42,
      source: {
        connector: 'postgresql',
        db: 'stack',
        schema: 'public',
        table: 'ProjectUser',
        txId: 731,
        lsn: String(0x0f00),
        commit_lsn: String(0x1000),
        seq: 0,
        ts_ms: 1_700_000_000_000,
        tenancyId: tenancyA,
        snapshot: 'false',
      },
      transaction: { id: `731:${0x1000}`, total_order: 1, data_collection_order: 1 },
    });
    expect(update?.op).toBe('u');
    expect(update?.before).toMatchObject({ displayName: 'Ada' });
    expect(update?.source.seq).toBe(1);
  });

  it('follows a delete with a tombstone for the same key', () => {
    const records = transactionRecords(transaction([{ table: 'ProjectUser', kind: 'delete', lsn: 1n, before: user(tenancyA), after: null }]), 'p');
    expect(records).toHaveLength(2);
    expect(records[0]?.event?.op).toBe('d');
    expect(records[1]).toMatchObject({ key: records[0]?.key, value: null, topic: records[0]?.topic });
  });

  it('routes each change to its own tenancy’s topic, numbering seq across the transaction', () => {
    const records = transactionRecords(
      transaction([
        { table: 'ProjectUser', kind: 'insert', lsn: 1n, before: null, after: user(tenancyA) },
        { table: 'ProjectUser', kind: 'insert', lsn: 2n, before: null, after: user(tenancyB) },
        {
          table: 'ContactChannel',
          kind: 'insert',
          lsn: 3n,
          before: null,
          after: { tenancyId: tenancyA, projectUserId: userId, id: '44444444-4444-4444-8444-444444444444', type: 'EMAIL', value: 'a@b.c' },
        },
      ]),
      'p',
    );
    expect(records.map((record) => [record.topic, record.event?.source.seq, record.event?.transaction.data_collection_order])).toEqual([
      [`p.${tenancyA}`, 0, 1],
      [`p.${tenancyB}`, 1, 2],
      [`p.${tenancyA}`, 2, 1],
    ]);
  });

  it('turns a primary-key change into a delete of the old key and a create of the new one', () => {
    const moved = user(tenancyB);
    const records = transactionRecords(transaction([{ table: 'ProjectUser', kind: 'update', lsn: 1n, before: user(tenancyA), after: moved }]), 'p');
    expect(records.map((record) => [record.topic, record.event?.op ?? 'tombstone'])).toEqual([
      [`p.${tenancyA}`, 'd'],
      [`p.${tenancyA}`, 'tombstone'],
      [`p.${tenancyB}`, 'c'],
    ]);
  });

  it('keys messages by table and primary key values', () => {
    expect(messageKey('ProjectUser', user(tenancyA))).toBe(`ProjectUser:${tenancyA}:${userId}`);
    expect(messageKey('ContactChannel', { tenancyId: tenancyA, projectUserId: userId, id: 'c1' })).toBe(`ContactChannel:${tenancyA}:${userId}:c1`);
  });

  it('publishes nothing for a transaction without changes of ours', () => {
    expect(transactionRecords(transaction([]), 'p')).toEqual([]);
  });

  it('refuses a row without a tenancy', () => {
    expect(() => transactionRecords(transaction([{ table: 'ProjectUser', kind: 'insert', lsn: 1n, before: null, after: { projectUserId: userId } }]), 'p')).toThrow(
      /tenancyId/,
    );
  });

  it('the contract schema rejects malformed envelopes', () => {
    const [valid] = events(transactionRecords(transaction([{ table: 'ProjectUser', kind: 'insert', lsn: 1n, before: null, after: user(tenancyA) }]), 'p'));
    expect(changeEventSchema.safeParse({ ...valid, op: 'x' }).success).toBe(false);
    expect(changeEventSchema.safeParse({ ...valid, source: { ...valid!.source, commit_lsn: '0/16' } }).success).toBe(false);
    expect(changeEventSchema.safeParse({ ...valid, source: { ...valid!.source, table: 'Project' } }).success).toBe(false);
  });

  it('numbers events across a transaction’s segments as if it came in one piece', () => {
    const changes: SourceChange[] = Array.from({ length: 5 }, (_, index) => ({
      table: 'ProjectUser' as const,
      kind: 'insert' as const,
      lsn: BigInt(index + 1),
      before: null,
      after: user(tenancyA, { projectUserId: `33333333-3333-4333-8333-33333333333${index}` }),
    }));
    const whole = events(transactionRecords(transaction(changes), 'p', 1));
    const builder = new TransactionRecordBuilder(transaction([]), 'p', () => 1);
    const segmented = events([...builder.records(changes.slice(0, 2)), ...builder.records(changes.slice(2, 4)), ...builder.records(changes.slice(4))]);
    expect(segmented).toEqual(whole);
    expect(segmented.map((event) => event.source.seq)).toEqual([0, 1, 2, 3, 4]);
  });
});
