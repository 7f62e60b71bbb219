import { describe, expect, it } from 'vitest';
import { changeEventSchema, type ChangeEvent } from '../schema/change-event';
import { changeEventFromConnect, connectRecordSchema, keyFromConnect, type ConnectSchema } from '../schema/connect-event';
import { tombstoneDelete } from '../sinks/tombstone';
import type { SourceChange, SourceTransaction } from './change-source';
import { connectKey } from './connect-envelope';
import { transactionRecords } from './envelope';
import { formatOfPositionMetadata, positionMetadata } from './kafka-publisher';

const tenancyId = '11111111-1111-4111-8111-111111111111';
const userId = '33333333-3333-4333-8333-333333333333';
const channelId = '44444444-4444-4444-8444-444444444444';

/** A full ProjectUser row image as the reader decodes it (cdc/pg-value-decoder.ts). */
function user(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    tenancyId,
    projectUserId: userId,
    displayName: 'Ada',
    profileImageUrl: null,
    clientMetadata: { theme: 'dark', nested: { list: [1, 'two', null] } },
    clientReadOnlyMetadata: null,
    serverMetadata: { plan: 'pro' },
    isAnonymous: false,
    createdAt: '2024-01-01T00:00:00.123Z',
    updatedAt: '2024-01-02T03:04:05.006Z',
    signedUpAt: '1999-12-31T23:59:59.999Z',
    lastActiveAt: '2024-01-02T03:04:05.000Z',
    restrictedByAdmin: true,
    restrictedByAdminReason: 'spam',
    restrictedByAdminPrivateDetails: null,
    ...overrides,
  };
}

function channel(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    tenancyId,
    projectUserId: userId,
    id: channelId,
    type: 'EMAIL',
    value: 'ada@example.com',
    isPrimary: 'TRUE',
    usedForAuth: null,
    isVerified: true,
    createdAt: '2024-01-01T00:00:00.000Z',
    updatedAt: '2024-01-01T00:00:00.000Z',
    ...overrides,
  };
}

function transaction(changes: SourceChange[]): SourceTransaction {
  return { xid: 731, commitLsn: 0x1000n, commitEndLsn: 0x1040n, commitTimeMs: 1_700_000_000_000, database: 'stack', changes };
}

const changes: SourceChange[] = [
  { table: 'ProjectUser', kind: 'insert', lsn: 0x0f00n, before: null, after: user() },
  { table: 'ContactChannel', kind: 'insert', lsn: 0x0f08n, before: null, after: channel() },
  { table: 'ProjectUser', kind: 'update', lsn: 0x0f10n, before: user(), after: user({ displayName: 'Lovelace', clientMetadata: null, isAnonymous: true }) },
  { table: 'ContactChannel', kind: 'delete', lsn: 0x0f18n, before: channel(), after: null },
  { table: 'ProjectUser', kind: 'delete', lsn: 0x0f20n, before: user(), after: null },
];

const schemaless = transactionRecords(transaction(changes), 'stack.cdc', 42);
const schemad = transactionRecords(transaction(changes), 'stack.cdc', 42, 'debezium-json-schemas');

function parsed(value: string): { schema: ConnectSchema; payload: Record<string, unknown> } {
  const record = connectRecordSchema.parse(JSON.parse(value));
  return { schema: record.schema, payload: record.payload as Record<string, unknown> };
}

function fieldOf(schema: ConnectSchema, name: string): ConnectSchema {
  const found = schema.fields?.find((field) => field.field === name);
  if (!found) throw new Error(`no field ${name}`);
  return found;
}

/**
 * What JsonConverter#convertToConnect accepts for a schema, checked strictly: a payload that fails
 * here is one Kafka Connect refuses with a DataException.
 */
function conformance(schema: ConnectSchema, value: unknown, at: string): string[] {
  if (value === null || value === undefined) return schema.optional ? [] : [`${at}: null for a required ${schema.type}`];
  switch (schema.type) {
    case 'struct': {
      if (typeof value !== 'object' || Array.isArray(value)) return [`${at}: not an object`];
      const object = value as Record<string, unknown>;
      const known = new Set((schema.fields ?? []).map((field) => field.field));
      const extra = Object.keys(object).filter((key) => !known.has(key)).map((key) => `${at}.${key}: not in the schema`);
      return [...extra, ...(schema.fields ?? []).flatMap((field) => conformance(field, object[field.field], `${at}.${field.field}`))];
    }
    case 'string':
      return typeof value === 'string' ? [] : [`${at}: not a string`];
    case 'boolean':
      return typeof value === 'boolean' ? [] : [`${at}: not a boolean`];
    case 'int8':
    case 'int16':
    case 'int32':
    case 'int64':
      return typeof value === 'number' && Number.isSafeInteger(value) ? [] : [`${at}: not an integer`];
    default:
      return [`${at}: unexpected type ${schema.type}`];
  }
}

describe('schema’d event format (Kafka Connect JsonConverter, Debezium schemas)', () => {
  it('writes the same records (topics, order, tombstones) as the schemaless format', () => {
    expect(schemad.map((record) => [record.topic, record.value === null])).toEqual(schemaless.map((record) => [record.topic, record.value === null]));
    expect(schemad).toHaveLength(7);
  });

  it('names the value schema as Debezium’s envelope (the JDBC sink keys on “Envelope”)', () => {
    const { schema } = parsed(schemad[0]!.value!);
    expect(schema).toMatchObject({ type: 'struct', optional: false, name: 'stack.cdc.public.ProjectUser.Envelope' });
    expect(schema.fields?.map((field) => field.field)).toEqual(['before', 'after', 'source', 'transaction', 'op', 'ts_ms', 'ts_us', 'ts_ns']);
    expect(fieldOf(schema, 'after')).toMatchObject({ type: 'struct', optional: true, name: 'stack.cdc.public.ProjectUser.Value' });
    expect(fieldOf(schema, 'source')).toMatchObject({ name: 'io.debezium.connector.postgresql.Source' });
    expect(fieldOf(schema, 'transaction')).toMatchObject({ name: 'event.block', optional: true });
    expect(parsed(schemad[1]!.value!).schema.name).toBe('stack.cdc.public.ContactChannel.Envelope');
  });

  it.each([
    ['ProjectUser', 'tenancyId', { type: 'string', optional: false, name: 'io.debezium.data.Uuid' }],
    ['ProjectUser', 'displayName', { type: 'string', optional: true }],
    ['ProjectUser', 'clientMetadata', { type: 'string', optional: true, name: 'io.debezium.data.Json', parameters: { '__debezium.source.column.type': 'JSONB' } }],
    ['ProjectUser', 'isAnonymous', { type: 'boolean', optional: false }],
    [
      'ProjectUser',
      'createdAt',
      { type: 'int64', optional: false, name: 'io.debezium.time.Timestamp', parameters: { '__debezium.source.column.type': 'TIMESTAMP', '__debezium.source.column.scale': '3' } },
    ],
    ['ContactChannel', 'type', { type: 'string', optional: false, name: 'io.debezium.data.Enum', parameters: { allowed: 'EMAIL,PHONE' } }],
    ['ContactChannel', 'isPrimary', { type: 'string', optional: true, name: 'io.debezium.data.Enum', parameters: { allowed: 'TRUE' } }],
  ] as const)('types %s.%s as Debezium does (%j)', (table, column, expected) => {
    const record = schemad.find((candidate) => candidate.event?.source.table === table)!;
    expect(fieldOf(fieldOf(parsed(record.value!).schema, 'after'), column)).toMatchObject(expected);
  });

  it('encodes values by their logical types: jsonb as JSON text, timestamp(3) as epoch ms', () => {
    const after = parsed(schemad[0]!.value!).payload.after as Record<string, unknown>;
    expect(after).toMatchObject({
      tenancyId,
      clientMetadata: JSON.stringify({ theme: 'dark', nested: { list: [1, 'two', null] } }),
      clientReadOnlyMetadata: null,
      createdAt: Date.UTC(2024, 0, 1, 0, 0, 0, 123),
      signedUpAt: Date.UTC(1999, 11, 31, 23, 59, 59, 999),
      isAnonymous: false,
      restrictedByAdmin: true,
    });
  });

  it('every key and value conforms to its own schema (what JsonConverter checks)', () => {
    for (const record of schemad) {
      const key = parsed(record.key);
      expect(conformance(key.schema, key.payload, 'key')).toEqual([]);
      if (record.value === null) continue;
      const value = parsed(record.value);
      expect(conformance(value.schema, value.payload, 'value')).toEqual([]);
    }
  });

  it('keys are the primary key struct, identical for every event of a row (compaction)', () => {
    const key = parsed(schemad[0]!.key);
    expect(key.schema).toMatchObject({ type: 'struct', optional: false, name: 'stack.cdc.public.ProjectUser.Key' });
    expect(key.schema.fields?.map((field) => field.field)).toEqual(['tenancyId', 'projectUserId']);
    expect(key.payload).toEqual({ tenancyId, projectUserId: userId });
    const userKeys = new Set(schemad.filter((record) => record.event?.source.table === 'ProjectUser' || (record.value === null && record.key.includes('ProjectUser.Key'))).map((record) => record.key));
    expect(userKeys.size).toBe(1);
    expect(connectKey('stack.cdc', 'ProjectUser', user({ displayName: 'other' }))).toBe(schemad[0]!.key);
  });

  it('deletes carry the before image, after null and op d, and are followed by a tombstone of the same key', () => {
    const deleteIndex = schemad.findIndex((record) => record.event?.op === 'd');
    const { payload } = parsed(schemad[deleteIndex]!.value!);
    expect(payload).toMatchObject({ op: 'd', after: null, before: { id: channelId, type: 'EMAIL' } });
    expect(schemad[deleteIndex + 1]).toMatchObject({ key: schemad[deleteIndex]!.key, value: null });
  });

  it('carries the source position (commit_lsn, seq) next to Debezium’s source fields', () => {
    const { payload } = parsed(schemad[2]!.value!);
    expect(payload.source).toMatchObject({ connector: 'postgresql', name: 'stack.cdc', db: 'stack', schema: 'public', table: 'ProjectUser', txId: 731, lsn: 0x0f10, commit_lsn: '4096', seq: 2, tenancyId, snapshot: 'false', ts_ms: 1_700_000_000_000 });
    expect(payload.transaction).toEqual({ id: '731:4096', total_order: 3, data_collection_order: 2 });
  });

  it('reads back into exactly the schemaless event (our sinks read both formats)', () => {
    const expected = schemaless.filter((record) => record.value !== null).map((record) => changeEventSchema.parse(JSON.parse(record.value!)));
    const decoded = schemad.filter((record) => record.value !== null).map((record) => changeEventSchema.parse(changeEventFromConnect(JSON.parse(record.value!))));
    expect(decoded).toEqual(expected);
  });

  it('turns a schema’d tombstone key into the delete of its row', () => {
    const tombstone = schemad.at(-1)!;
    expect(keyFromConnect(tombstone.key)).toEqual({ table: 'ProjectUser', row: { tenancyId, projectUserId: userId } });
    const event = tombstoneDelete(tombstone.key, undefined) as ChangeEvent;
    expect(event).toMatchObject({ op: 'd', before: { tenancyId, projectUserId: userId }, source: { table: 'ProjectUser' } });
  });

  it.each(['{}', '{"schema":{"type":"struct","optional":false,"name":"x.public.Project.Key"},"payload":{}}', 'not json', '{"schema":{"type":"struct","optional":false,"name":"x.public.ProjectUser.Key"},"payload":{"tenancyId":""}}'])(
    'ignores the key %s',
    (key) => {
      expect(keyFromConnect(key)).toBeUndefined();
    },
  );

  it('a malformed schema’d value is rejected by the contract, not thrown', () => {
    expect(changeEventSchema.safeParse(changeEventFromConnect({ schema: { type: 'struct', optional: false }, payload: { op: 'c' } })).success).toBe(false);
    expect(changeEventFromConnect({ schema: 'nope', payload: {} })).toBeUndefined();
    // A Json field that is not JSON used to throw out of the lane and end the sink process.
    const notJson = {
      schema: { type: 'struct', optional: false, fields: [{ field: 'after', type: 'struct', optional: true, fields: [{ field: 'clientMetadata', type: 'string', optional: true, name: 'io.debezium.data.Json' }] }] },
      payload: { op: 'c', after: { clientMetadata: '{not json' } },
    };
    expect(() => changeEventFromConnect(notJson)).not.toThrow();
    expect(changeEventFromConnect(notJson)).toBeUndefined();
  });

  it('maps ±infinity timestamps to the ends of the representable range instead of failing', () => {
    const [record] = transactionRecords(transaction([{ table: 'ProjectUser', kind: 'insert', lsn: 1n, before: null, after: user({ lastActiveAt: 'infinity' }) }]), 'p', 1, 'debezium-json-schemas');
    expect((parsed(record!.value!).payload.after as Record<string, unknown>).lastActiveAt).toBe(8_640_000_000_000_000);
  });
});

describe('format recorded with the reader’s position', () => {
  it.each([
    [positionMetadata('debezium-json-schemas'), 'debezium-json-schemas'],
    [positionMetadata('debezium-json'), 'debezium-json'],
    // Positions committed before formats existed: their topics hold the schemaless envelope.
    [null, 'debezium-json'],
    ['', 'debezium-json'],
  ])('%j → %s', (metadata, format) => {
    expect(formatOfPositionMetadata(metadata)).toBe(format);
  });
});
