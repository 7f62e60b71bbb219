import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { patches } from './kafkajs.mjs';

const require = createRequire(import.meta.url);
const kafkajsRoot = path.dirname(require.resolve('kafkajs/package.json'));

type Crc32C = (buffer: Buffer) => number;
interface EncoderInstance {
  writeUVarInt(value: number): EncoderInstance;
  writeVarInt(value: number): EncoderInstance;
  writeVarLong(value: number): EncoderInstance;
  buffer: Buffer;
}
type EncoderClass = new (initialSize?: number) => EncoderInstance;
interface Message {
  partition: number;
  key: string;
}
type GroupMessagesPerPartition = (options: {
  topic: string;
  partitionMetadata: { partitionId: number }[];
  messages: Message[];
  partitioner: (options: { message: Message }) => number;
}) => Record<number, Message[]>;

const crc32C = require('kafkajs/src/protocol/recordBatch/crc32C/crc32C.js') as Crc32C;
const Encoder = require('kafkajs/src/protocol/encoder.js') as EncoderClass;
const groupMessagesPerPartition = require('kafkajs/src/producer/groupMessagesPerPartition.js') as GroupMessagesPerPartition;

/** CRC32-C bit by bit, straight from its definition. */
function referenceCrc32C(buffer: Buffer): number {
  let crc = 0xffffffff;
  for (const byte of buffer) {
    crc ^= byte;
    for (let bit = 0; bit < 8; bit++) crc = crc & 1 ? (crc >>> 1) ^ 0x82f63b78 : crc >>> 1;
  }
  return (crc ^ 0xffffffff) >>> 0;
}

/** Unsigned LEB128, as Kafka's record format writes varints. */
function referenceUVarInt(value: number): number[] {
  const bytes: number[] = [];
  let rest = value >>> 0;
  while (rest >= 0x80) {
    bytes.push((rest & 0x7f) | 0x80);
    rest >>>= 7;
  }
  bytes.push(rest);
  return bytes;
}

describe('kafkajs as installed', () => {
  it('carries every dependency patch (npm install applies them)', () => {
    for (const patch of patches) {
      expect(readFileSync(path.join(kafkajsRoot, patch.file), 'utf8'), patch.file).toContain(patch.replace);
    }
  });

  it('computes CRC32-C as defined, for every length and alignment', () => {
    expect(crc32C(Buffer.from('123456789'))).toBe(0xe3069283);
    expect(crc32C(Buffer.alloc(0))).toBe(0);
    for (let length = 0; length < 300; length++) {
      const buffer = randomBytes(length + 3).subarray(3);
      expect(crc32C(buffer), `length ${length}`).toBe(referenceCrc32C(buffer));
    }
    const large = randomBytes(1_000_003);
    expect(crc32C(large)).toBe(referenceCrc32C(large));
  });

  it('writes varints byte for byte as LEB128, zigzag for signed values', () => {
    const values = [0, 1, 63, 64, 127, 128, 255, 300, 16_383, 16_384, 2_097_151, 2_097_152, 268_435_455, 268_435_456, 2 ** 31 - 1, 2 ** 32 - 1];
    for (const value of values) expect([...new Encoder().writeUVarInt(value).buffer], `uvarint ${value}`).toEqual(referenceUVarInt(value));
    for (const value of [0, -1, 1, -64, 64, -65, 1_000_000, -1_000_000, 2 ** 31 - 1, -(2 ** 31)]) {
      const zigzag = value >= 0 ? value * 2 : -value * 2 - 1;
      expect([...new Encoder().writeVarInt(value).buffer], `varint ${value}`).toEqual(referenceUVarInt(zigzag));
    }
    // Many small writes into one encoder: growth keeps what was written before.
    const encoder = new Encoder(1);
    const expected: number[] = [];
    for (let index = 0; index < 5_000; index++) {
      encoder.writeUVarInt(index * 977);
      expected.push(...referenceUVarInt(index * 977));
    }
    expect([...encoder.buffer]).toEqual(expected);
  });

  it('groups messages per partition keeping their order', () => {
    const messages = Array.from({ length: 2_000 }, (_, index) => ({ partition: index % 3, key: `k${index}` }));
    const grouped = groupMessagesPerPartition({
      topic: 't',
      partitionMetadata: [{ partitionId: 0 }, { partitionId: 1 }, { partitionId: 2 }],
      messages,
      partitioner: ({ message }) => message.partition,
    });
    for (const partition of [0, 1, 2]) expect(grouped[partition]).toEqual(messages.filter((message) => message.partition === partition));
    expect(groupMessagesPerPartition({ topic: 't', partitionMetadata: [], messages, partitioner: () => 0 })).toEqual({});
  });
});
