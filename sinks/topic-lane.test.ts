import type { KafkaMessage } from 'kafkajs';
import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { waitFor } from '../infra/wait-for';
import type { ChangeEvent } from '../schema/change-event';
import type { OffsetEvent } from './batch-plan';
import { DatabaseSync } from './database-sync';
import { defaultMappings } from './mappings';
import { SinkMetrics } from './metrics';
import type { ApplyRange, ApplyResult, PreparedProgress, SyncTarget, UsersTableFigures } from './target';
import { TopicLane, WaitingBytes, type FetchedBatch, type TopicControl } from './topic-lane';

const tenancyId = '11111111-1111-4111-8111-111111111111';

function message(offset: number): KafkaMessage {
  const event: ChangeEvent = {
    before: null,
    after: { tenancyId, projectUserId: `00000000-0000-4000-8000-${String(offset).padStart(12, '0')}`, displayName: `u${offset}`, createdAt: '2024-01-01T00:00:00.000Z' },
    op: 'c',
    ts_ms: 0,
    source: { connector: 'postgresql', db: 'stack', schema: 'public', table: 'ProjectUser', txId: offset, lsn: String(offset), commit_lsn: String(offset), seq: 0, ts_ms: 0, tenancyId, snapshot: 'false' },
    transaction: { id: `${offset}:${offset}`, total_order: 1, data_collection_order: 1 },
  };
  return { key: Buffer.from(`ProjectUser:${offset}`), value: Buffer.from(JSON.stringify(event)), offset: String(offset), timestamp: '0', attributes: 0, headers: {} };
}

/** The consumer as kafkajs behaves: a seek stays pending until the next fetch, and a batch delivered meanwhile is stale. */
class RecordingControl implements TopicControl {
  readonly seeks: bigint[] = [];
  pendingSeek: bigint | undefined;
  pause(): void {}
  resume(): void {}
  seek(_topic: string, offset: bigint): void {
    this.seeks.push(offset);
    this.pendingSeek = offset;
  }

  /** A fetch from `from` (the next fetch applies the pending seek first). */
  fetch(from: number, to: number): FetchedBatch {
    const messages = Array.from({ length: to - from + 1 }, (_, index) => message(from + index));
    const fetchedAt = this.pendingSeek;
    this.pendingSeek = undefined;
    if (fetchedAt !== undefined && fetchedAt !== BigInt(from)) throw new Error(`the consumer was pointed at ${fetchedAt}, not ${from}`);
    return { messages, fetchedFrom: BigInt(from), lastOffset: BigInt(to), highWatermark: 1_000n, isStale: () => this.pendingSeek !== undefined };
  }
}

/** An external database in memory: the offsets of the events it was given, and failures on demand. */
class RecordingTarget implements SyncTarget {
  readonly applied: bigint[] = [];
  progress = -1n;
  failNext = false;
  async prepare(): Promise<PreparedProgress> {
    return { appliedOffset: this.progress, coveredThrough: this.progress, sweepPending: false, sweptSnapshotId: -1n };
  }

  async requireSweep(): Promise<void> {}

  async sweep(): Promise<number> {
    return 0;
  }

  async markSwept(): Promise<void> {}

  async measureUsersTable(): Promise<UsersTableFigures | undefined> {
    return { exists: true, totalRows: 0, estimated: false };
  }

  async reset(): Promise<void> {
    this.progress = -1n;
  }

  async apply(events: readonly OffsetEvent[], range: ApplyRange): Promise<ApplyResult> {
    if (this.failNext) {
      this.failNext = false;
      throw new Error('database went away');
    }
    const fresh = events.filter((item) => item.offset > this.progress);
    this.applied.push(...fresh.map((item) => item.offset));
    const through = typeof range === 'object' ? range.through : (events.at(-1)?.offset ?? this.progress);
    this.progress = through > this.progress ? through : this.progress;
    return { applied: fresh.length, appliedOffset: this.progress, coveredThrough: this.progress };
  }

  async close(): Promise<void> {}
}

function offsets(from: number, to: number): bigint[] {
  return Array.from({ length: to - from + 1 }, (_, index) => BigInt(from + index));
}

describe('TopicLane', () => {
  // The interleaving behind a silent gap: a database fails and recovers (the lane seeks back for
  // it) while the consumer, kept busy by other topics, has already fetched the batch after the
  // one the healthy database just took. That batch is delivered after the seek; taken, it gave
  // the recovered database offsets 30–39 right after 0–9, and its progress moved past 10–29.
  it('drops a batch fetched before a backward seek, so a recovering database gets every offset', async () => {
    const control = new RecordingControl();
    const metrics = new SinkMetrics(new Registry());
    const lane = new TopicLane('topic', tenancyId, control, metrics, 'group', new WaitingBytes(64 * 1024 * 1024));
    const steady = new RecordingTarget();
    const flaky = new RecordingTarget();
    const syncs = [steady, flaky].map(
      (target, index) =>
        new DatabaseSync({ tenancyId, databaseId: `db${index}`, target, mappings: defaultMappings, metrics, onReady: () => lane.reposition() }),
    );
    syncs.forEach((sync, index) => lane.databases.set(`db${index}`, sync));
    await waitFor('both databases prepared', async () => syncs.every((sync) => sync.available), { timeoutMs: 5_000, intervalMs: 5 });
    lane.setAssigned(true);
    const idle = () => waitFor('the lane to finish its batch', async () => syncs.filter((sync) => sync.status.state === 'running').every((sync) => sync.available), { timeoutMs: 5_000, intervalMs: 5 });

    lane.offer(control.fetch(0, 9));
    await idle();
    flaky.failNext = true;
    lane.offer(control.fetch(10, 19));
    await waitFor('the flaky database to fail', async () => syncs[1]!.status.state === 'error', { timeoutMs: 5_000, intervalMs: 5 });
    await idle();
    lane.offer(control.fetch(20, 29));
    await idle();
    // Fetched while other topics' batches were being handled, before the flaky one recovered.
    const fetchedEarly = control.fetch(30, 39);
    await waitFor('the flaky database to recover', async () => syncs[1]!.available && syncs[1]!.next === 10n, { timeoutMs: 10_000, intervalMs: 5 });
    expect(control.seeks.at(-1)).toBe(10n);
    lane.offer(fetchedEarly);
    await idle();
    expect(flaky.applied).toEqual(offsets(0, 9));

    // The consumer now reads from where the lane pointed it: the recovered database catches up.
    lane.offer(control.fetch(10, 39));
    await waitFor('both databases at 40', async () => syncs.every((sync) => sync.next === 40n && sync.available), { timeoutMs: 5_000, intervalMs: 5 });
    expect(flaky.applied).toEqual(offsets(0, 39));
    expect(steady.applied).toEqual(offsets(0, 39));
    await Promise.all(syncs.map((sync) => sync.close()));
  });

  it('re-points the consumer when a batch was not fetched from where the lane pointed it', async () => {
    const control = new RecordingControl();
    const metrics = new SinkMetrics(new Registry());
    const lane = new TopicLane('topic', tenancyId, control, metrics, 'group', new WaitingBytes(64 * 1024 * 1024));
    const target = new RecordingTarget();
    const sync = new DatabaseSync({ tenancyId, databaseId: 'db', target, mappings: defaultMappings, metrics, onReady: () => lane.reposition() });
    lane.databases.set('db', sync);
    await waitFor('prepared', async () => sync.available, { timeoutMs: 5_000, intervalMs: 5 });
    lane.setAssigned(true);
    control.pendingSeek = undefined;
    // A group join reset the consumer to the advisory group offset, say 5, behind the lane's back.
    lane.offer({ ...control.fetch(5, 9), isStale: () => false });
    expect(control.seeks.at(-1)).toBe(0n);
    expect(target.applied).toEqual([]);
    lane.offer(control.fetch(0, 9));
    await waitFor('applied', async () => sync.next === 10n && sync.available, { timeoutMs: 5_000, intervalMs: 5 });
    expect(target.applied).toEqual(offsets(0, 9));
    await sync.close();
  });
});
