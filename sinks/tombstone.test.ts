import { describe, expect, it } from 'vitest';
import type { ChangeEvent } from '../schema/change-event';
import { defaultMappings } from './mappings';
import { tombstoneDelete } from './tombstone';

const tenancyId = '11111111-1111-4111-8111-111111111111';
const userId = '22222222-2222-4222-8222-222222222222';
const channelId = '33333333-3333-4333-8333-333333333333';

describe('tombstoneDelete', () => {
  it('turns a user’s tombstone into the delete of its users row', () => {
    const event = tombstoneDelete(`ProjectUser:${tenancyId}:${userId}`, undefined)!;
    expect(event).toMatchObject({ op: 'd', before: { tenancyId, projectUserId: userId }, after: null, source: { table: 'ProjectUser', tenancyId } });
    expect(defaultMappings.flatMap((mapping) => mapping.map(event))).toEqual([{ kind: 'delete', table: 'users', id: userId }]);
  });

  it('turns a channel’s tombstone into the delete of its contact_channels row', () => {
    const event = tombstoneDelete(`ContactChannel:${tenancyId}:${userId}:${channelId}`, undefined)!;
    expect(defaultMappings.flatMap((mapping) => mapping.map(event))).toEqual([{ kind: 'delete', table: 'contact_channels', id: channelId }]);
  });

  it('borrows the source position of the event before it', () => {
    const before = { source: { connector: 'postgresql', db: 'stack', schema: 'public', table: 'ProjectUser', txId: 7, lsn: '10', commit_lsn: '20', seq: 3, ts_ms: 5, tenancyId, snapshot: 'false' }, ts_ms: 6, transaction: { id: '7:20', total_order: 4, data_collection_order: 4 } } as ChangeEvent;
    expect(tombstoneDelete(`ContactChannel:${tenancyId}:${userId}:${channelId}`, before)?.source).toMatchObject({ commit_lsn: '20', seq: 3, table: 'ContactChannel' });
  });

  it.each(['', 'Unknown:a:b', `ProjectUser:${tenancyId}`, `ProjectUser:${tenancyId}:${userId}:extra`, `ContactChannel:${tenancyId}::${channelId}`])('ignores the key %j', (key) => {
    expect(tombstoneDelete(key, undefined)).toBeUndefined();
  });
});
