// Test support: makes bytes that an encoder reserves but never writes visible. Buffer.allocUnsafe
// hands out memory as the process left it (small sizes from a shared 8 KiB pool): whatever it held
// before, secrets included. Poisoned, every such allocation starts out as a known pattern instead.

/** Fills poisoned allocations, repeated; no protocol field the tests send contains 8 bytes of it. */
export const sentinel = Buffer.from('deadbeefc0ffee15baddcafe0b5e55ed', 'hex');

/**
 * From now until disposed, every `Buffer.allocUnsafe` / `Buffer.allocUnsafeSlow` result starts out
 * as `fill` (a byte, or a pattern repeated from the buffer's first byte). kafkajs looks
 * `Buffer.allocUnsafe` up on each call, so its encoders get the poisoned memory.
 */
export function poisonAllocations(fill: Buffer | number): Disposable {
  const { allocUnsafe, allocUnsafeSlow } = Buffer;
  Buffer.allocUnsafe = (size: number) => allocUnsafe(size).fill(fill);
  Buffer.allocUnsafeSlow = (size: number) => allocUnsafeSlow(size).fill(fill);
  return {
    [Symbol.dispose]() {
      Buffer.allocUnsafe = allocUnsafe;
      Buffer.allocUnsafeSlow = allocUnsafeSlow;
    },
  };
}

/** Runs `encode` with every fresh allocation filled with `fill`; returns a copy of its bytes. */
export async function encodeWithFill(fill: Buffer | number, encode: () => Promise<Buffer>): Promise<Buffer> {
  using poisoned = poisonAllocations(fill);
  return Buffer.from(await encode());
}

/** The first offset at which `a` and `b` differ (in content or length), or undefined if equal. */
export function firstDifference(a: Buffer, b: Buffer): number | undefined {
  const common = Math.min(a.length, b.length);
  for (let offset = 0; offset < common; offset++) if (a[offset] !== b[offset]) return offset;
  return a.length === b.length ? undefined : common;
}

const windowLength = 8;
/** Every 8-byte stretch of the repeated sentinel, one per phase: a run of 8 unwritten bytes holds one. */
const sentinelWindows = Array.from({ length: sentinel.length }, (_, phase) =>
  Buffer.from(Array.from({ length: windowLength }, (_, index) => sentinel[(phase + index) % sentinel.length] ?? 0)),
);

/** Where runs of 8 or more poisoned bytes start in `bytes` (the first ten, ascending). */
export function sentinelOffsets(bytes: Buffer): number[] {
  const windowStarts = new Set<number>();
  for (const window of sentinelWindows) {
    for (let at = bytes.indexOf(window); at !== -1; at = bytes.indexOf(window, at + 1)) windowStarts.add(at);
  }
  return [...windowStarts]
    .filter((at) => !windowStarts.has(at - 1))
    .sort((a, b) => a - b)
    .slice(0, 10);
}

export interface UnwrittenBytes {
  /** First byte whose value depends on what the allocation held: encoded twice, zero-filled and poisoned, they differ there. */
  firstDependentByte: number | undefined;
  /** Where runs of 8+ poisoned bytes start in the poisoned encoding. */
  sentinelAt: number[];
}

export const fullyWritten: UnwrittenBytes = { firstDependentByte: undefined, sentinelAt: [] };

/**
 * Encodes twice, once with fresh allocations zero-filled (what `Buffer.alloc` gave kafkajs before
 * the patch) and once poisoned. A single byte left unwritten makes the two differ; a longer run
 * also shows as sentinel in the poisoned bytes. `encode` must be deterministic.
 */
export async function unwrittenBytes(encode: () => Promise<Buffer>): Promise<UnwrittenBytes> {
  const zeroFilled = await encodeWithFill(0, encode);
  const poisoned = await encodeWithFill(sentinel, encode);
  return { firstDependentByte: firstDifference(zeroFilled, poisoned), sentinelAt: sentinelOffsets(poisoned) };
}
