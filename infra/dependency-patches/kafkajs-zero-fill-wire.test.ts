// The zero-fill patch checked where it matters: the bytes kafkajs writes to the broker's socket while
// a transactional producer sends records and commits offsets, and a read_committed consumer fetches
// them and commits its own, with every fresh allocation in the process poisoned. See
// kafkajs-zero-fill.test.ts for the same check request by request, every version kafkajs has.
import { Kafka, logLevel, type IHeaders, type Message } from 'kafkajs';
import { describe, expect, it } from 'vitest';
import { testServices, uniqueName } from '../../e2e/harness/test-services';
import { captureWrites, collectRequests, parseFrames, type Frame } from './kafka-wire-capture';
import { apiKeys, apiName } from './kafkajs-protocol';
import { encodeWithFill, firstDifference, poisonAllocations, sentinel, sentinelOffsets } from './poisoned-allocations';

/** kafkajs 2.2.4 picks its highest version of each request that the broker accepts; with Kafka 4.x these. */
const negotiatedWithKafka4: Record<string, number> = {
  InitProducerId: 1,
  AddPartitionsToTxn: 1,
  Produce: 7,
  AddOffsetsToTxn: 1,
  TxnOffsetCommit: 1,
  EndTxn: 1,
  Fetch: 11,
  OffsetCommit: 5,
};

const timestamp = 1_767_225_600_000;
function records(): Message[] {
  return [
    { partition: 0, key: 'user-1', value: '{"id":"user-1"}', timestamp: String(timestamp), headers: { 'content-type': 'application/json', trace: Buffer.from([0, 1, 2, 255]) } },
    { partition: 0, key: Buffer.from('user-2'), value: null, timestamp: String(timestamp + 1) }, // a tombstone
    { partition: 0, key: 'user-3', value: '', timestamp: String(timestamp + 2), headers: { repeated: ['a', 'b'] } },
    { partition: 1, key: 'unicode é€😀', value: 'значение 😀', timestamp: String(timestamp + 3) },
    { partition: 1, key: 'large', value: Buffer.alloc(200_003, 'stack-sync '), timestamp: String(timestamp + 4) },
    ...[1, 511, 512, 4_095, 4_096, 8_192].map((size, index) => ({ partition: index % 2, key: `size-${size}`, value: 'x'.repeat(size), timestamp: String(timestamp + 5 + index) })),
  ];
}

/** What a record is once on the broker, comparable between what was sent and what came back. */
function comparable(record: { key?: Buffer | string | null; value: Buffer | string | null; timestamp?: string; headers?: IHeaders }, partition: number) {
  const text = (bytes: Buffer | string | null | undefined) => (bytes == null ? null : Buffer.from(bytes).toString('utf8'));
  const headers = Object.entries(record.headers ?? {}).map(([key, value]) => [key, Array.isArray(value) ? value.map(text) : text(value)]);
  return { partition, key: text(record.key), value: text(record.value), timestamp: record.timestamp, headers: Object.fromEntries(headers) };
}

interface Exchange {
  brokers: string[];
  topic: string;
  sentRecords: Message[];
  received: ReturnType<typeof comparable>[];
}

/**
 * What the cdc and the sinks do with Kafka, in small: a transactional producer sends records and
 * commits a position with them; a read_committed consumer reads them and commits its offsets.
 */
async function exchangeRecords({ brokers, topic, sentRecords, received }: Exchange): Promise<void> {
  const positionsGroup = `${topic}.positions`;
  const sinkGroup = `${topic}.sink`;
  // Few, short retries and a request timeout far above a local broker's answer: a frame an encoder
  // broke leaves the broker waiting for bytes that never come, and the test should say so soon.
  const kafka = new Kafka({
    clientId: 'zero-fill',
    brokers,
    logLevel: logLevel.NOTHING,
    requestTimeout: 10_000,
    retry: { initialRetryTime: 50, maxRetryTime: 1_000, retries: 5 },
  });
  const admin = kafka.admin();
  await admin.connect();
  try {
    await admin.createTopics({ topics: [{ topic, numPartitions: 2 }], waitForLeaders: true });
    // Makes sure the group coordinator is loaded: kafkajs's sendOffsets does not retry NOT_COORDINATOR.
    await admin.fetchOffsets({ groupId: positionsGroup, topics: [topic] });

    const producer = kafka.producer({ transactionalId: topic, idempotent: true, maxInFlightRequests: 1 });
    await producer.connect();
    const transaction = await producer.transaction();
    await transaction.send({ topic, acks: -1, messages: sentRecords });
    await transaction.sendOffsets({ consumerGroupId: positionsGroup, topics: [{ topic, partitions: [{ partition: 0, offset: '42' }] }] });
    await transaction.commit();
    await producer.disconnect();

    const consumer = kafka.consumer({ groupId: sinkGroup, readUncommitted: false });
    await consumer.connect();
    await consumer.subscribe({ topics: [topic], fromBeginning: true });
    const allReceived = new Promise<void>((resolve) => {
      void consumer.run({
        autoCommit: false,
        eachMessage: async ({ partition, message }) => {
          received.push(comparable(message, partition));
          await consumer.commitOffsets([{ topic, partition, offset: String(BigInt(message.offset) + 1n) }]);
          if (received.length === sentRecords.length) resolve();
        },
      });
    });
    let deadline: NodeJS.Timeout | undefined;
    const timedOut = new Promise<never>((_, reject) => {
      deadline = setTimeout(() => reject(new Error(`received ${received.length} of ${sentRecords.length} records in 30 s`)), 30_000);
    });
    await Promise.race([allReceived, timedOut]).finally(() => clearTimeout(deadline));
    await consumer.disconnect();
    await admin.deleteGroups([positionsGroup, sinkGroup]);
    await admin.deleteTopics({ topics: [topic] });
  } finally {
    await admin.disconnect();
  }
}

describe('kafkajs on the wire with every allocation poisoned (real Kafka)', () => {
  it('a transactional producer committing offsets and a consumer committing its own send no byte they did not write', async () => {
    const brokers = testServices().kafkaBrokers.split(',');
    const port = Number(brokers[0]?.split(':')[1]);
    const exchange: Exchange = { brokers, topic: `test.${uniqueName()}`, sentRecords: records(), received: [] };
    const collected = collectRequests();
    const wire = captureWrites(port);
    let failure: unknown;
    try {
      using poisoned = poisonAllocations(sentinel);
      failure = await exchangeRecords(exchange).then(
        () => undefined,
        (error: unknown) => error ?? new Error('the exchange failed'),
      );
    } finally {
      wire[Symbol.dispose]();
      collected[Symbol.dispose]();
    }

    // Checked first, so that a leak is named even when it broke the exchange: no run of sentinel
    // went out, and every request body on the wire is byte for byte what kafkajs encodes from the
    // same request with zero-filled buffers (as it did before the patch).
    const frames: Frame[] = [];
    for (const chunks of wire.bySocket.values()) {
      const bytes = Buffer.concat(chunks);
      expect(sentinelOffsets(bytes)).toEqual([]);
      const parsed = parseFrames(bytes);
      expect(parsed.trailing).toBe(0);
      frames.push(...parsed.frames);
    }
    const zeroFilled = await Promise.all(
      collected.sent.map(async (request) => ({ request, payload: await encodeWithFill(0, async () => (await request.encode()).buffer) })),
    );
    const mismatches = frames.flatMap(({ apiKey, apiVersion, payload }) => {
      const candidates = zeroFilled.filter(({ request }) => request.apiKey === apiKey && request.apiVersion === apiVersion);
      if (candidates.some((candidate) => candidate.payload.equals(payload))) return [];
      const sameLength = candidates.find((candidate) => candidate.payload.length === payload.length);
      const where = sameLength ? `differs at byte ${firstDifference(sameLength.payload, payload)}` : 'has no request of its length';
      return [`${apiName(apiKey)} v${apiVersion} (${payload.length} bytes) ${where}`];
    });
    expect(mismatches).toEqual([]);
    if (failure !== undefined) throw failure;

    const byKey = (a: { partition: number; key: string | null }, b: { partition: number; key: string | null }) =>
      a.partition - b.partition || String(a.key).localeCompare(String(b.key));
    const expected = exchange.sentRecords.map((record) => comparable(record, record.partition ?? -1));
    expect(exchange.received.sort(byKey)).toEqual(expected.sort(byKey));
    const versionsSeen = (name: string) => [...new Set(frames.filter((frame) => frame.apiKey === apiKeys[name]).map((frame) => frame.apiVersion))];
    for (const [name, version] of Object.entries(negotiatedWithKafka4)) expect(versionsSeen(name), name).toEqual([version]);
  });
});
