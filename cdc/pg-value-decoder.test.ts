import { describe, expect, it } from 'vitest';
import { timestamptzToIso, timestampToIso, valueDecoderFor } from './pg-value-decoder';

describe('pgoutput value decoding', () => {
  it.each([
    [16, 't', true],
    [16, 'f', false],
    [21, '-7', -7],
    [23, '2147483647', 2147483647],
    [20, '9223372036854775807', '9223372036854775807'],
    [1700, '12345678901234567890.123', '12345678901234567890.123'],
    [701, '1.5', 1.5],
    [701, 'NaN', 'NaN'],
    [701, '-Infinity', '-Infinity'],
    [700, '-0.25', -0.25],
    [3802, '{"a": [1, "x", null]}', { a: [1, 'x', null] }],
    [114, '"bare"', 'bare'],
    [2950, '0b0c2a2e-5b0f-4a7e-9a55-0d6b1f0f3c11', '0b0c2a2e-5b0f-4a7e-9a55-0d6b1f0f3c11'],
    [25, `O'Connor 🚀 用户 "Test"`, `O'Connor 🚀 用户 "Test"`],
    [1114, '2024-03-01 12:34:56.789', '2024-03-01T12:34:56.789Z'],
    [1184, '2024-03-01 12:34:56.789+02', '2024-03-01T10:34:56.789Z'],
  ])('type %i decodes %j', (oid, text, expected) => {
    expect(valueDecoderFor(oid)(text)).toEqual(expected);
  });

  it('reads timestamp without time zone as UTC whatever the process time zone', () => {
    expect(timestampToIso('2024-01-02 03:04:05')).toBe('2024-01-02T03:04:05.000Z');
    expect(timestampToIso('2024-01-02 03:04:05.1')).toBe('2024-01-02T03:04:05.100Z');
    expect(timestampToIso('2024-01-02 03:04:05.123456')).toBe('2024-01-02T03:04:05.123Z');
    expect(timestampToIso('infinity')).toBe('infinity');
    expect(timestampToIso('0044-03-15 12:00:00 BC')).toBe('0044-03-15 12:00:00 BC');
  });

  it('normalises timestamptz offsets, including half-hour zones', () => {
    expect(timestamptzToIso('2024-01-02 03:04:05+00')).toBe('2024-01-02T03:04:05.000Z');
    expect(timestamptzToIso('2024-01-02 03:04:05.5+05:30')).toBe('2024-01-01T21:34:05.500Z');
    expect(timestamptzToIso('2024-01-02 03:04:05-08')).toBe('2024-01-02T11:04:05.000Z');
    expect(timestamptzToIso('-infinity')).toBe('-infinity');
  });
});
