import { describe, expect, it } from 'vitest';
import { beginCommitTimeMs } from './source-lag';

function begin(commitMicrosSince2000: bigint): Buffer {
  const message = Buffer.alloc(21);
  message[0] = 0x42;
  message.writeBigUInt64BE(0x16b3748n, 1);
  message.writeBigInt64BE(commitMicrosSince2000, 9);
  message.writeInt32BE(1234, 17);
  return message;
}

describe('commit time of a pgoutput BEGIN', () => {
  it.each([
    { title: 'the Postgres epoch', micros: 0n, expected: Date.UTC(2000, 0, 1) },
    { title: 'a recent commit, sub-millisecond part dropped', micros: 852_076_800_123_456n, expected: Date.UTC(2027, 0, 1) + 123 },
  ])('$title', ({ micros, expected }) => {
    expect(beginCommitTimeMs(begin(micros))).toBe(expected);
  });

  it('is undefined for other messages', () => {
    const insert = begin(0n);
    insert[0] = 0x49;
    expect(beginCommitTimeMs(insert)).toBeUndefined();
    expect(beginCommitTimeMs(Buffer.from([0x42]))).toBeUndefined();
  });
});
