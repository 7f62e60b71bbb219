// The encoder patch (kafkajs.mjs) takes fresh buffers from Buffer.allocUnsafe instead of the
// zero-filled Buffer.alloc. That is only safe if every byte up to the encoder's offset is written:
// one reserved and skipped would send whatever the process held there (secrets included) to a
// durable topic. These tests encode real requests through kafkajs's own protocol code, every
// version it implements of each request the cdc and sink send, and check that no byte of the result
// depends on what the allocation held.
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { CompressionTypes, Encoder, frameRequest, requestDefinitions, type KafkaEncoder } from './kafkajs-protocol';
import { fullyWritten, poisonAllocations, sentinel, sentinelOffsets, unwrittenBytes } from './poisoned-allocations';

interface Message {
  key?: string | Buffer | null;
  value: string | Buffer | null;
  timestamp?: string;
  headers?: Record<string, string | Buffer | (string | Buffer)[]>;
}

/** Fixed, so that encoding twice gives the same bytes. */
const timestamp = 1_767_225_600_000;
/** Around the encoder's initial 512 bytes, the 4 KiB limit of Buffer's shared pool, and growth. */
const valueSizes = [1, 126, 127, 128, 255, 256, 505, 506, 511, 512, 513, 4_095, 4_096, 4_097, 8_191, 8_192, 65_536, 100_003];

function messages(withTimestamps: boolean): Message[] {
  const at = (delta: number) => (withTimestamps ? { timestamp: String(timestamp + delta) } : {});
  return [
    { key: 'user-1', value: '{"id":"user-1"}', ...at(0), headers: { 'content-type': 'application/json', trace: Buffer.from([0, 1, 2, 255]) } },
    { key: Buffer.from('user-2'), value: null, ...at(1) }, // a tombstone
    { key: null, value: 'no key', ...at(2) },
    { value: 'key left out', ...at(2) },
    { key: 'empty', value: '', ...at(3), headers: { repeated: ['a', Buffer.from('b'), ''], empty: '' } },
    { key: 'no bytes', value: Buffer.alloc(0), ...at(3), headers: {} },
    // A lone surrogate counts three bytes (U+FFFD) in Buffer.byteLength and is written as three.
    { key: 'unicode é€😀 \ud800', value: 'lone \ud800 and \udc00 surrogates, 😀 a pair', ...at(4), headers: { 'ключ \udfff': 'значение \ud83d' } },
    ...valueSizes.flatMap((size, index) => [
      { key: `bytes-${size}`, value: Buffer.alloc(size, 'stack-sync '), ...at(5 + index) },
      { key: `text-${size}`, value: 'é'.repeat(Math.ceil(size / 2)), ...at(5 + index), headers: { size: String(size) } },
    ]),
  ];
}

const producer = {
  transactional: { transactionalId: 'test.cdc.slot_a', producerId: 4_242, producerEpoch: 3 },
  idempotent: { producerId: 4_242, producerEpoch: 0 },
  plain: {},
};

function produceArgs(options: { compression: number; withTimestamps: boolean; producer: object }): object {
  return {
    acks: -1,
    timeout: 30_000,
    compression: options.compression,
    ...options.producer,
    topicData: [
      {
        topic: 'test.tenant_a',
        partitions: [
          { partition: 0, firstSequence: 0, messages: messages(options.withTimestamps) },
          { partition: 3, firstSequence: 17, messages: messages(options.withTimestamps).slice(0, 3) },
        ],
      },
      { topic: 'test.tenänt_b', partitions: [{ partition: 1, firstSequence: 2_147_483_000, messages: messages(options.withTimestamps).slice(6, 7) }] },
    ],
  };
}

const offsets = [
  {
    topic: 'test._cdc_positions',
    partitions: [
      { partition: 0, offset: '42', metadata: null },
      { partition: 1, offset: '9007199254740993', metadata: 'lsn 0/1930F18 é' },
    ],
  },
];
const transaction = { transactionalId: 'test.cdc.slot_a', producerId: 4_242, producerEpoch: 3 };

/** Arguments for each request the cdc's transactional producer and the sinks' consumers send. */
const cases: { name: string; apiName: string; args: object }[] = [
  { name: 'transactional', apiName: 'Produce', args: produceArgs({ compression: CompressionTypes.None, withTimestamps: true, producer: producer.transactional }) },
  { name: 'idempotent', apiName: 'Produce', args: produceArgs({ compression: CompressionTypes.None, withTimestamps: true, producer: producer.idempotent }) },
  { name: 'plain', apiName: 'Produce', args: produceArgs({ compression: CompressionTypes.None, withTimestamps: true, producer: producer.plain }) },
  { name: 'gzip', apiName: 'Produce', args: produceArgs({ compression: CompressionTypes.GZIP, withTimestamps: true, producer: producer.transactional }) },
  { name: 'stamped by kafkajs', apiName: 'Produce', args: produceArgs({ compression: CompressionTypes.None, withTimestamps: false, producer: producer.transactional }) },
  { name: 'transactional', apiName: 'InitProducerId', args: { transactionalId: transaction.transactionalId, transactionTimeout: 600_000 } },
  { name: 'idempotent', apiName: 'InitProducerId', args: { transactionalId: null, transactionTimeout: 600_000 } },
  { name: 'two topics', apiName: 'AddPartitionsToTxn', args: { ...transaction, topics: [{ topic: 'test.tenant_a', partitions: [0, 1, 2] }, { topic: 'test._cdc_positions', partitions: [0] }] } },
  { name: 'positions group', apiName: 'AddOffsetsToTxn', args: { ...transaction, groupId: 'test.cdc.slot_a' } },
  { name: 'positions', apiName: 'TxnOffsetCommit', args: { ...transaction, groupId: 'test.cdc.slot_a', topics: offsets } },
  { name: 'commit', apiName: 'EndTxn', args: { ...transaction, transactionResult: true } },
  { name: 'abort', apiName: 'EndTxn', args: { ...transaction, transactionResult: false } },
  { name: 'sink group', apiName: 'OffsetCommit', args: { groupId: 'test.sink', groupGenerationId: 7, memberId: 'sink-1-4b1c', retentionTime: -1, topics: offsets } },
  {
    name: 'read committed',
    apiName: 'Fetch',
    args: {
      replicaId: -1,
      isolationLevel: 1,
      maxWaitTime: 100,
      minBytes: 1,
      maxBytes: 10_485_760,
      sessionId: 0,
      sessionEpoch: -1,
      rackId: '',
      topics: [{ topic: 'test.tenant_a', partitions: [{ partition: 0, fetchOffset: '12345678901', logStartOffset: '0', maxBytes: 1_048_576 }] }],
      forgottenTopics: [{ topic: 'test.tenant_b', partitions: [2] }],
    },
  },
  {
    name: 'read uncommitted, no rack',
    apiName: 'Fetch',
    args: { isolationLevel: 0, maxWaitTime: 0, minBytes: 0, maxBytes: 1, topics: [{ topic: 'test.tenant_a', partitions: [{ partition: 1, fetchOffset: '0', maxBytes: 1 }] }] },
  },
];

interface EncoderInternals extends KafkaEncoder {
  buf: Buffer;
  offset: number;
  ensureAvailable(length: number): void;
  writeInt8(value: number): this;
  writeInt32(value: number): this;
  writeBuffer(value: Buffer): this;
  writeUVarInt(value: number): this;
  writeVarInt(value: number): this;
}
const EncoderWithInternals = Encoder as unknown as new (initialSize?: number) => EncoderInternals;

/** The kind of bug the checks are for: a byte reserved and never written. */
class EncoderSkippingInt8 extends EncoderWithInternals {
  override writeInt8(_value: number): this {
    this.ensureAvailable(1);
    this.offset += 1;
    return this;
  }
}

// kafkajs stamps what has no timestamp with Date.now() (records, OffsetCommit v1 partitions):
// frozen, so that the two encodings of a request agree.
beforeEach(() => {
  vi.spyOn(Date, 'now').mockReturnValue(timestamp);
});
afterEach(() => {
  vi.restoreAllMocks();
});

describe('kafkajs encoder on uninitialised buffers', () => {
  it('takes its fresh and grown buffers from Buffer.allocUnsafe, so the poison reaches them', () => {
    using poisoned = poisonAllocations(sentinel);
    const encoder = new EncoderWithInternals(64);
    expect(encoder.buf.subarray(0, 16)).toEqual(sentinel);
    encoder.writeBuffer(Buffer.alloc(100, 1)); // grows to 128 bytes
    expect(encoder.buf).toHaveLength(128);
    expect(encoder.buf.subarray(112, 128)).toEqual(sentinel);
  });

  it('the check finds a single byte left unwritten, and a longer run as sentinel', async () => {
    const oneByte = await unwrittenBytes(async () => new EncoderSkippingInt8().writeInt32(1).writeInt8(0).writeInt32(2).buffer);
    expect(oneByte).toEqual({ firstDependentByte: 4, sentinelAt: [] });
    const nineBytes = await unwrittenBytes(async () => {
      const encoder = new EncoderSkippingInt8().writeInt32(1);
      for (let index = 0; index < 9; index++) encoder.writeInt8(0);
      return encoder.writeInt32(2).buffer;
    });
    expect(nineBytes.firstDependentByte).toBe(4);
    expect(nineBytes.sentinelAt).toEqual([4]);
    expect(sentinelOffsets(Buffer.concat([Buffer.alloc(3), sentinel.subarray(5), sentinel]))).toEqual([3]);
  });

  it('writes every byte it reserves for an in-place varint, whatever the value (at most five are needed)', async () => {
    const values = [0, 1, 127, 128, 16_383, 16_384, 2 ** 28 - 1, 2 ** 28, 2 ** 31 - 1, 2 ** 32 - 1, 2 ** 32, 2 ** 40 + 3, 2 ** 53, -1, -128, -(2 ** 31), 1.5, Number.NaN];
    for (const value of values) {
      // Starting one byte short of the initial 512, so that the five reserved bytes span a growth;
      // a write after it, since one past the end would show only once the encoder grows again.
      const encode = (write: (encoder: EncoderInternals) => EncoderInternals) => async () =>
        write(new EncoderWithInternals().writeBuffer(Buffer.alloc(511, 7))).writeInt32(-1).buffer;
      expect(await unwrittenBytes(encode((encoder) => encoder.writeUVarInt(value))), `uvarint ${value}`).toEqual(fullyWritten);
      expect(await unwrittenBytes(encode((encoder) => encoder.writeVarInt(value))), `varint ${value}`).toEqual(fullyWritten);
    }
  });

  for (const { name, apiName, args } of cases) {
    it(`${apiName} (${name}): every byte of every version kafkajs implements is written`, async () => {
      const definitions = requestDefinitions(apiName);
      expect(definitions.versions.length).toBeGreaterThan(0);
      for (const version of definitions.versions.map(Number)) {
        const { request } = definitions.protocol({ version })(args);
        const framed = await unwrittenBytes(async () => (await frameRequest({ correlationId: 7, clientId: 'stack-sync-cdc', request })).buffer);
        expect(framed, `${apiName} v${version}`).toEqual(fullyWritten);
      }
    });
  }
});
