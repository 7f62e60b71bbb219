import { describe, expect, it } from 'vitest';
import type { ChangeEvent, ChangeOp, SourceTable } from '../schema/change-event';
import { planBatch, type OffsetEvent } from './batch-plan';
import { defaultMappings } from './mappings';
import { contactChannelsMapping } from './mappings/contact-channels';
import { usersMapping } from './mappings/users';

const tenancyId = '11111111-1111-4111-8111-111111111111';
const userA = 'aaaaaaaa-aaaa-4aaa-8aaa-aaaaaaaaaaaa';
const userB = 'bbbbbbbb-bbbb-4bbb-8bbb-bbbbbbbbbbbb';

function userRow(id: string, overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    tenancyId,
    projectUserId: id,
    displayName: 'Ada',
    profileImageUrl: null,
    clientMetadata: null,
    clientReadOnlyMetadata: { plan: 'pro' },
    serverMetadata: ['not', 'an', 'object'],
    isAnonymous: false,
    createdAt: '2024-01-02T03:04:05.678Z',
    ...overrides,
  };
}

function channelRow(id: string, userId: string, overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return { tenancyId, projectUserId: userId, id, type: 'EMAIL', value: `${id}@example.com`, isPrimary: 'TRUE', usedForAuth: null, isVerified: true, ...overrides };
}

let seq = 0;
function event(table: SourceTable, op: ChangeOp, row: Record<string, unknown>): ChangeEvent {
  seq++;
  return {
    before: op === 'c' || op === 'r' ? null : row,
    after: op === 'd' ? null : row,
    op,
    ts_ms: 0,
    source: { connector: 'postgresql', db: 'stack', schema: 'public', table, txId: 1, lsn: String(seq), commit_lsn: String(seq), seq: 0, ts_ms: 0, tenancyId, snapshot: 'false' },
    transaction: { id: `1:${seq}`, total_order: 1, data_collection_order: 1 },
  };
}

function offsets(events: ChangeEvent[]): OffsetEvent[] {
  return events.map((item, index) => ({ offset: BigInt(index), event: item }));
}

describe('users mapping', () => {
  it('maps a ProjectUser row to the users columns of DESIGN.md', () => {
    expect(usersMapping.map(event('ProjectUser', 'c', userRow(userA)))).toEqual([
      {
        kind: 'upsert',
        table: 'users',
        id: userA,
        row: {
          id: userA,
          display_name: 'Ada',
          profile_image_url: null,
          signed_up_at: '2024-01-02T03:04:05.678Z',
          client_metadata: {},
          client_read_only_metadata: { plan: 'pro' },
          server_metadata: ['not', 'an', 'object'],
          is_anonymous: false,
          restricted_by_admin: false,
        },
      },
    ]);
  });

  it.each(['u', 'r'] as const)('treats op %s as an upsert', (op) => {
    expect(usersMapping.map(event('ProjectUser', op, userRow(userA)))[0]?.kind).toBe('upsert');
  });

  it('deletes by id and ignores other tables', () => {
    expect(usersMapping.map(event('ProjectUser', 'd', userRow(userA)))).toEqual([{ kind: 'delete', table: 'users', id: userA }]);
    expect(usersMapping.map(event('ContactChannel', 'c', channelRow('c1', userA)))).toEqual([]);
  });

  it('refuses a row whose key column is missing', () => {
    expect(() => usersMapping.map(event('ProjectUser', 'c', userRow(userA, { projectUserId: null })))).toThrow(/projectUserId/);
  });
});

describe('contact_channels mapping', () => {
  it('turns the TRUE/NULL flags into booleans', () => {
    const [operation] = contactChannelsMapping.map(event('ContactChannel', 'c', channelRow('c1', userA, { usedForAuth: 'TRUE', isPrimary: null, isVerified: false })));
    expect(operation).toEqual({
      kind: 'upsert',
      table: 'contact_channels',
      id: 'c1',
      row: { id: 'c1', user_id: userA, type: 'EMAIL', value: 'c1@example.com', is_primary: false, is_verified: false, used_for_auth: true },
    });
  });
});

describe('planBatch', () => {
  it('keeps only each row’s final state: create → update → delete → create → update ends as the last update', () => {
    const plan = planBatch(
      offsets([
        event('ProjectUser', 'c', userRow(userA, { displayName: 'v1' })),
        event('ProjectUser', 'u', userRow(userA, { displayName: 'v2' })),
        event('ProjectUser', 'd', userRow(userA, { displayName: 'v2' })),
        event('ProjectUser', 'c', userRow(userA, { displayName: 'v3' })),
        event('ProjectUser', 'u', userRow(userA, { displayName: 'v4' })),
      ]),
      defaultMappings,
    )!;
    const users = plan.tables.find((table) => table.mapping.table === 'users')!;
    expect(users.deletes.size).toBe(0);
    expect(users.upserts.get(userA)?.display_name).toBe('v4');
    expect(plan.lastOffset).toBe(4n);
    expect(plan.applied).toBe(5);
  });

  it('ends deleted when the last event of a key is a delete', () => {
    const plan = planBatch(
      offsets([event('ProjectUser', 'c', userRow(userA)), event('ProjectUser', 'c', userRow(userB)), event('ProjectUser', 'd', userRow(userA))]),
      defaultMappings,
    )!;
    const users = plan.tables.find((table) => table.mapping.table === 'users')!;
    expect([...users.deletes]).toEqual([userA]);
    expect([...users.upserts.keys()]).toEqual([userB]);
  });

  it('collects the users whose primary email must be derived again', () => {
    const plan = planBatch(
      offsets([event('ContactChannel', 'c', channelRow('c1', userA)), event('ProjectUser', 'u', userRow(userB)), event('ContactChannel', 'd', channelRow('c2', userB))]),
      defaultMappings,
    )!;
    expect([...plan.touchedUserIds].sort()).toEqual([userA, userB]);
    const channels = plan.tables.find((table) => table.mapping.table === 'contact_channels')!;
    expect([...channels.upserts.keys()]).toEqual(['c1']);
    expect([...channels.deletes]).toEqual(['c2']);
  });

  it('has nothing to do for an empty batch', () => {
    expect(planBatch([], defaultMappings)).toBeUndefined();
  });
});
