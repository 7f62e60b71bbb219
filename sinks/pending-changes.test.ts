import { describe, expect, it } from 'vitest';
import type { ChangeEvent } from '../schema/change-event';
import type { OffsetEvent } from './batch-plan';
import { PendingChanges } from './pending-changes';

function event(offset: number, commitMs: number, fromTombstone = false): OffsetEvent {
  const change = { source: { ts_ms: commitMs } } as ChangeEvent;
  return fromTombstone ? { offset: BigInt(offset), event: change, fromTombstone: true } : { offset: BigInt(offset), event: change };
}

describe('pending changes of a database', () => {
  it('remembers the oldest unapplied change and counts them across batches', () => {
    const pending = new PendingChanges();
    pending.seen([event(5, 1_000), event(6, 2_000)], 5n, 6n, 5n);
    pending.seen([event(8, 3_000)], 7n, 9n, 5n);
    expect(pending.at(5n)).toEqual({ oldestCommitMs: 1_000, events: 3, knownThrough: 9n });
    expect(pending.lagSeconds(5n, 11_000)).toBe(10);
    expect(pending.nextToRead(5n)).toBe(10n);
  });

  it('starts again when the position moves (the database applied some)', () => {
    const pending = new PendingChanges();
    const batch = [event(5, 1_000), event(6, 2_000), event(7, 3_000)];
    pending.seen(batch, 5n, 7n, 5n);
    pending.seen(batch, 5n, 7n, 7n);
    expect(pending.at(7n)).toEqual({ oldestCommitMs: 3_000, events: 1, knownThrough: 7n });
    expect(pending.at(5n)).toBeUndefined();
    expect(pending.lagSeconds(5n, 10_000)).toBe(0);
  });

  it('is caught up (lag 0) when everything seen is applied', () => {
    const pending = new PendingChanges();
    pending.seen([event(5, 1_000)], 5n, 6n, 7n);
    expect(pending.at(7n)).toEqual({ oldestCommitMs: undefined, events: 0, knownThrough: 6n });
    expect(pending.lagSeconds(7n, 50_000)).toBe(0);
  });

  it('ignores a batch that leaves a hole, and one already seen', () => {
    const pending = new PendingChanges();
    pending.seen([event(9, 1_000)], 9n, 9n, 5n);
    expect(pending.at(5n)).toEqual({ oldestCommitMs: undefined, events: 0, knownThrough: 4n });
    pending.seen([event(5, 2_000)], 5n, 5n, 5n);
    pending.seen([event(5, 2_000)], 5n, 5n, 5n);
    expect(pending.at(5n)?.events).toBe(1);
  });

  it('does not count tombstones, nor records past what the batch covers', () => {
    const pending = new PendingChanges();
    pending.seen([event(5, 1_000), event(6, 1_000, true), event(8, 5_000)], 5n, 7n, 5n);
    expect(pending.at(5n)).toEqual({ oldestCommitMs: 1_000, events: 1, knownThrough: 7n });
  });
});
