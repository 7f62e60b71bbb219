import { randomBytes } from 'node:crypto';
import type { Consumer } from 'kafkajs';
import { kafkaClient } from '../../../infra/runtime/kafka-client';
import { deleteLabel } from './auth-workload';

/**
 * The outside observer of a system's topics: a read_committed consumer of its own group, reading
 * from offset 0, as any downstream team would. It counts change events (tombstones are not
 * events), their bytes on the wire (key + value), and, while `labelling`, when each labelled
 * `ProjectUser` change was first seen.
 */

/** Both envelopes: ours (schemaless) and Debezium's with `{schema, payload}` (JsonConverter). */
interface ChangeEnvelope {
  op?: string;
  before?: { displayName?: string | null; projectUserId?: string } | null;
  after?: { displayName?: string | null } | null;
  source?: { table?: string };
}

export function labelOfEvent(value: Buffer): string | undefined {
  const parsed = JSON.parse(value.toString('utf8')) as ChangeEnvelope & { payload?: ChangeEnvelope };
  const event = parsed.payload ?? parsed;
  if (event.source?.table !== 'ProjectUser') return undefined;
  if (event.op === 'd') return event.before?.projectUserId === undefined ? undefined : deleteLabel(event.before.projectUserId);
  return event.after?.displayName ?? undefined;
}

export class TopicWatcher {
  /** Change events seen (non-null values). */
  events = 0;
  /** Key + value bytes of those events. */
  bytes = 0;
  /** performance.now() of the first and the latest event seen after `markBaseline()`. */
  firstEventAt: number | undefined;
  lastEventAt: number | undefined;
  /** When set, `seen` records the epoch ms each label was first read. */
  labelling = false;
  readonly seen = new Map<string, number>();
  #baseline = 0;

  private constructor(private readonly consumer: Consumer) {}

  static async start(brokers: string[], topics: readonly string[]): Promise<TopicWatcher> {
    const group = `bench-compare-watch-${randomBytes(4).toString('hex')}`;
    // kafkajs reads read_committed unless told otherwise (readUncommitted: false).
    const consumer = kafkaClient(brokers, group).consumer({ groupId: group, readUncommitted: false, maxWaitTimeInMs: 100, sessionTimeout: 10_000 });
    const watcher = new TopicWatcher(consumer);
    await consumer.connect();
    await consumer.subscribe({ topics: [...topics], fromBeginning: true });
    await consumer.run({
      autoCommit: false,
      eachBatch: async ({ batch }) => {
        const now = Date.now();
        for (const message of batch.messages) {
          if (message.value === null) continue;
          watcher.events++;
          watcher.bytes += message.value.length + (message.key?.length ?? 0);
          if (watcher.labelling) {
            const label = labelOfEvent(message.value);
            if (label !== undefined && !watcher.seen.has(label)) watcher.seen.set(label, now);
          }
        }
        if (watcher.events > watcher.#baseline) {
          watcher.firstEventAt ??= performance.now();
          watcher.lastEventAt = performance.now();
        }
      },
    });
    return watcher;
  }

  /** Events after this instant count as new (first/last times start again). */
  markBaseline(): void {
    this.#baseline = this.events;
    this.firstEventAt = undefined;
    this.lastEventAt = undefined;
  }

  get eventsSinceBaseline(): number {
    return this.events - this.#baseline;
  }

  async stop(): Promise<void> {
    await this.consumer.disconnect();
  }
}
