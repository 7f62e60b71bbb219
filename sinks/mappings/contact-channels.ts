import type { ChangeEvent } from '../../schema/change-event';
import { requireString, sourceRow, type Mapping, type RowOperation } from '../mapping';

/** `contact_channels`: one row per "ContactChannel"; the 'TRUE'/NULL flags become booleans. */
export const contactChannelsMapping: Mapping = {
  name: 'contact_channels',
  sourceTable: 'ContactChannel',
  table: 'contact_channels',
  columns: ['id', 'user_id', 'type', 'value', 'is_primary', 'is_verified', 'used_for_auth'],
  jsonColumns: [],
  ddl: `CREATE TABLE IF NOT EXISTS contact_channels (
    id uuid PRIMARY KEY,
    user_id uuid NOT NULL,
    type text NOT NULL,
    value text NOT NULL,
    is_primary boolean NOT NULL DEFAULT false,
    is_verified boolean NOT NULL DEFAULT false,
    used_for_auth boolean NOT NULL DEFAULT false
  )`,
  map(event: ChangeEvent): RowOperation[] {
    if (event.source.table !== this.sourceTable) return [];
    const row = sourceRow(event);
    const id = requireString(row, 'id');
    if (event.op === 'd') return [{ kind: 'delete', table: 'contact_channels', id }];
    return [
      {
        kind: 'upsert',
        table: 'contact_channels',
        id,
        row: {
          id,
          user_id: requireString(row, 'projectUserId'),
          type: requireString(row, 'type'),
          value: requireString(row, 'value'),
          is_primary: row.isPrimary === 'TRUE',
          is_verified: row.isVerified === true,
          used_for_auth: row.usedForAuth === 'TRUE',
        },
      },
    ];
  },
};
