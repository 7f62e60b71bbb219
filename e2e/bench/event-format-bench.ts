import { waitFor } from '../../infra/wait-for';
import type { EventFormat } from '../../schema/connect-event';
import type { SourceChange } from '../../cdc/change-source';
import { transactionRecords } from '../../cdc/envelope';
import { benchSetup, report, runBench } from './bench-setup';

/**
 * `npm run bench:event-format`: what the schema'd event format (CDC_EVENT_FORMAT=debezium-json-schemas)
 * costs next to the schemaless default — bytes per event (key + value) for typical rows, the
 * reader's encoding rate alone, and WAL → Kafka events/s of a backlog with every service on this
 * machine. Figures, not gates.
 */
const backlogRows = Number(process.env.BENCH_FORMAT_ROWS ?? 50_000);
const encodeEvents = Number(process.env.BENCH_FORMAT_ENCODE_EVENTS ?? 200_000);

const tenancyId = '11111111-1111-4111-8111-111111111111';

/** A user as the API writes one (metadata set), and its primary email channel. */
function typicalChanges(index: number): SourceChange[] {
  const projectUserId = `33333333-3333-4333-8333-${String(index).padStart(12, '0')}`;
  const user = {
    tenancyId,
    projectUserId,
    displayName: `User ${index}`,
    profileImageUrl: null,
    clientMetadata: { theme: 'dark', locale: 'en-GB' },
    clientReadOnlyMetadata: null,
    serverMetadata: { plan: 'pro', seats: 3 },
    isAnonymous: false,
    createdAt: '2026-11-23T21:43:14.622Z',
    updatedAt: '2026-11-23T21:43:14.622Z',
    signedUpAt: '2026-11-23T21:43:14.622Z',
    lastActiveAt: '2026-11-23T21:43:14.622Z',
    restrictedByAdmin: false,
    restrictedByAdminReason: null,
    restrictedByAdminPrivateDetails: null,
  };
  const channel = {
    tenancyId,
    projectUserId,
    id: `44444444-4444-4444-8444-${String(index).padStart(12, '0')}`,
    type: 'EMAIL',
    value: `user${index}@example.com`,
    isPrimary: 'TRUE',
    usedForAuth: 'TRUE',
    isVerified: true,
    createdAt: '2026-11-23T21:43:14.622Z',
    updatedAt: '2026-11-23T21:43:14.622Z',
  };
  return [
    { table: 'ProjectUser', kind: 'insert', lsn: BigInt(index * 3 + 1), before: null, after: user },
    { table: 'ContactChannel', kind: 'insert', lsn: BigInt(index * 3 + 2), before: null, after: channel },
    { table: 'ProjectUser', kind: 'update', lsn: BigInt(index * 3 + 3), before: user, after: { ...user, displayName: `Renamed ${index}` } },
  ];
}

function bytesPerEvent(format: EventFormat): Record<string, number> {
  const records = transactionRecords(
    { xid: 1, commitLsn: 1000n, commitEndLsn: 1001n, commitTimeMs: 1_795_469_000_100, database: 'stack', changes: typicalChanges(1) },
    'stack.cdc',
    1_795_469_000_123,
    format,
  );
  const [insertUser, insertChannel, updateUser] = records.map((record) => ({ key: Buffer.byteLength(record.key), value: Buffer.byteLength(record.value ?? '') }));
  return {
    user_insert_key: insertUser!.key,
    user_insert_value: insertUser!.value,
    channel_insert_value: insertChannel!.value,
    user_update_value: updateUser!.value,
  };
}

/** Events encoded per second by the reader's record builder alone (one core, no I/O). */
function encodeRate(format: EventFormat): number {
  const batches = Array.from({ length: 1_000 }, (_, index) => typicalChanges(index));
  let events = 0;
  const started = performance.now();
  while (events < encodeEvents) {
    for (const changes of batches) {
      events += transactionRecords({ xid: 1, commitLsn: 1000n, commitEndLsn: 1001n, commitTimeMs: 1, database: 'stack', changes }, 'stack.cdc', 1, format).length;
    }
  }
  return Math.round(events / ((performance.now() - started) / 1000));
}

/** WAL → Kafka events/s for a backlog of users with a primary email each (2 events per user), written while no reader runs. */
async function backlogRate(format: EventFormat): Promise<number> {
  const setup = await benchSetup({ CDC_EVENT_FORMAT: format });
  try {
    // The reader's first start creates the slot (and runs its empty initial snapshot).
    await (await setup.startCdc()).stop();
    for (let done = 0; done < backlogRows; done += 5_000) {
      await setup.internal.query(
        `WITH created AS (
           INSERT INTO "ProjectUser" ("tenancyId", "projectUserId", "displayName", "clientMetadata", "serverMetadata")
           SELECT $1, gen_random_uuid(), 'user-' || n, '{"theme":"dark","locale":"en-GB"}', '{"plan":"pro","seats":3}' FROM generate_series($2::int, $3::int) AS n
           RETURNING "projectUserId", "displayName")
         INSERT INTO "ContactChannel" ("tenancyId", "projectUserId", id, type, value, "isPrimary", "usedForAuth")
         SELECT $1, "projectUserId", gen_random_uuid(), 'EMAIL', "displayName" || '@example.com', 'TRUE', 'TRUE' FROM created`,
        [setup.tenancyId, done + 1, Math.min(done + 5_000, backlogRows)],
      );
    }
    const end = (await setup.internal.query<{ lsn: string }>('SELECT pg_current_wal_lsn()::text AS lsn')).rows[0]!.lsn;
    const started = performance.now();
    await setup.startCdc();
    await waitFor(
      `the slot to confirm ${end}`,
      async () => (await setup.internal.query<{ ok: boolean }>('SELECT confirmed_flush_lsn >= $2::pg_lsn AS ok FROM pg_replication_slots WHERE slot_name = $1', [setup.config.CDC_SLOT, end])).rows[0]?.ok === true,
      { timeoutMs: 900_000, intervalMs: 50 },
    );
    return Math.round((backlogRows * 2) / ((performance.now() - started) / 1000));
  } finally {
    await setup.close();
  }
}

async function main(): Promise<void> {
  const schemaless = bytesPerEvent('debezium-json');
  const schemad = bytesPerEvent('debezium-json-schemas');
  const encodeSchemaless = encodeRate('debezium-json');
  const encodeSchemad = encodeRate('debezium-json-schemas');
  const backlogSchemaless = await backlogRate('debezium-json');
  const backlogSchemad = await backlogRate('debezium-json-schemas');
  report({
    bench: 'event-format',
    ...Object.fromEntries(Object.entries(schemaless).map(([key, value]) => [`schemaless_${key}_bytes`, value])),
    ...Object.fromEntries(Object.entries(schemad).map(([key, value]) => [`schemad_${key}_bytes`, value])),
    schemaless_encode_events_per_s: encodeSchemaless,
    schemad_encode_events_per_s: encodeSchemad,
    backlog_events: backlogRows * 2,
    schemaless_wal_to_kafka_events_per_s: backlogSchemaless,
    schemad_wal_to_kafka_events_per_s: backlogSchemad,
  });
}

runBench(main);
