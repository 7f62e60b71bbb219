import { readFileSync } from 'node:fs';
import pg from 'pg';
import type { Consumer } from 'kafkajs';
import { z } from 'zod';
import { waitFor } from '../../infra/wait-for';
import { kafkaClient } from '../../infra/runtime/kafka-client';

/**
 * Measuring the pipeline from the outside, as a user of it would: a read_committed Kafka consumer
 * for the WAL → Kafka leg, the external database itself for the end-to-end leg. Nothing here asks
 * the pipeline's processes how they are doing.
 */

/** The envelope fields a measurement needs; the schemaless envelope or a Connect `payload` wrapping it. */
const measuredEnvelope = z.object({
  after: z.object({ displayName: z.string().nullish() }).passthrough().nullish(),
  source: z.object({ ts_ms: z.number(), table: z.string() }),
});
const connectWrapped = z.object({ payload: measuredEnvelope });

function parseEnvelope(value: Buffer): z.infer<typeof measuredEnvelope> | undefined {
  const json: unknown = JSON.parse(value.toString());
  const direct = measuredEnvelope.safeParse(json);
  if (direct.success) return direct.data;
  const wrapped = connectWrapped.safeParse(json);
  return wrapped.success ? wrapped.data.payload : undefined;
}

export interface TopicWatchOptions {
  brokers: string[];
  topic: string;
  /** Records below this offset (written before the measurement) are not counted. */
  fromOffset: number;
  /** Called with each counted record as it arrives (receive time ms since the epoch). */
  onRecord?: (receivedAtMs: number) => void;
}

/**
 * A read_committed consumer (its own group, from the topic's start) that counts the records at or
 * past `fromOffset` and notes, per record, receive time − source commit time. Tombstones count as
 * records but carry no commit time.
 */
export class TopicWatch {
  count = 0;
  firstAtMs: number | undefined;
  lastAtMs: number | undefined;
  /** Receive time − source commit time (`source.ts_ms`) of each counted event, ms. */
  readonly commitToReceiveMs: number[] = [];
  /** Source commit time of the `ProjectUser` event that wrote each display name (the end-to-end leg starts there). */
  readonly commitTimeByDisplayName = new Map<string, number>();
  #consumer: Consumer | undefined;

  private constructor(private readonly options: TopicWatchOptions) {}

  /** Resolves once the consumer joined its group and was assigned the topic. */
  static async start(options: TopicWatchOptions): Promise<TopicWatch> {
    const watch = new TopicWatch(options);
    await watch.#start();
    return watch;
  }

  async #start(): Promise<void> {
    const kafka = kafkaClient(this.options.brokers, 'bench-watch');
    const consumer = kafka.consumer({
      groupId: `bench-watch-${process.pid}-${Date.now()}`,
      readUncommitted: false,
      allowAutoTopicCreation: false,
      maxWaitTimeInMs: 100,
      maxBytesPerPartition: 8 * 1024 * 1024,
    });
    this.#consumer = consumer;
    let joined = false;
    consumer.on(consumer.events.GROUP_JOIN, () => (joined = true));
    await consumer.connect();
    await consumer.subscribe({ topic: this.options.topic, fromBeginning: true });
    await consumer.run({
      autoCommit: false,
      eachBatch: async ({ batch }) => {
        const receivedAtMs = Date.now();
        for (const message of batch.messages) {
          if (Number(message.offset) < this.options.fromOffset) continue;
          this.count++;
          this.firstAtMs ??= receivedAtMs;
          this.lastAtMs = receivedAtMs;
          this.options.onRecord?.(receivedAtMs);
          if (!message.value) continue;
          const envelope = parseEnvelope(message.value);
          if (!envelope) continue;
          this.commitToReceiveMs.push(receivedAtMs - envelope.source.ts_ms);
          const displayName = envelope.after?.displayName;
          if (envelope.source.table === 'ProjectUser' && displayName) this.commitTimeByDisplayName.set(displayName, envelope.source.ts_ms);
        }
      },
    });
    await waitFor('the watching consumer to join its group', async () => joined, { timeoutMs: 60_000, intervalMs: 20 });
  }

  /** Until `count` records past `fromOffset` arrived. */
  async until(count: number, timeoutMs = 900_000): Promise<void> {
    await waitFor(`${count} records on ${this.options.topic} (seen ${this.count})`, async () => this.count >= count, { timeoutMs, intervalMs: 5 });
  }

  async stop(): Promise<void> {
    await this.#consumer?.disconnect().catch(() => undefined);
  }
}

/** The end offset of a topic (0 when it does not exist yet). */
export async function topicEndOffset(brokers: string[], topic: string): Promise<number> {
  const admin = kafkaClient(brokers, 'bench-admin').admin();
  await admin.connect();
  try {
    if (!(await admin.listTopics()).includes(topic)) return 0;
    try {
      return Number((await admin.fetchTopicOffsets(topic))[0]?.high ?? 0);
    } catch (error: unknown) {
      // Listed but not served yet: the reader created it a moment ago and it holds nothing yet.
      // kafkajs retries that error and then wraps it (the original is the cause).
      const cause = error instanceof Error && error.cause instanceof Error ? error.cause : error;
      if (cause instanceof Error && 'type' in cause && cause.type === 'UNKNOWN_TOPIC_OR_PARTITION') return 0;
      throw error;
    }
  } finally {
    await admin.disconnect();
  }
}

/** Polls the external `users` table (by primary key) until the user `userId` is there; resolves with the time it was seen. */
export async function untilExternalRow(externalUrl: string, userId: string, timeoutMs = 900_000): Promise<number> {
  const client = new pg.Client({ connectionString: externalUrl });
  await client.connect();
  try {
    await waitFor(
      `the external row of user ${userId}`,
      // Before the sink created its tables the query fails; waitFor treats that as "not yet".
      async () => (await client.query('SELECT 1 FROM users WHERE id = $1', [userId])).rowCount === 1,
      { timeoutMs, intervalMs: 5 },
    );
    return Date.now();
  } finally {
    await client.end();
  }
}

/**
 * When each external `users` row got its current display name: the commit time of the external
 * transaction that last wrote the row (`pg_xact_commit_timestamp(xmin)`, which needs
 * `track_commit_timestamp`, on in the local external cluster). No trigger and no polling in the
 * measured path: the sink's transactions are exactly what they are in production.
 */
export async function externalCommitTimes(externalUrl: string, labelPrefix: string): Promise<Map<string, number>> {
  const client = new pg.Client({ connectionString: externalUrl });
  await client.connect();
  try {
    const rows = await client.query<{ name: string; at: number }>(
      `SELECT display_name AS name, extract(epoch FROM pg_xact_commit_timestamp(xmin)) * 1000 AS at FROM users WHERE starts_with(display_name, $1)`,
      [labelPrefix],
    );
    return new Map(rows.rows.map((row) => [row.name, Number(row.at)]));
  } finally {
    await client.end();
  }
}

/** CPU seconds (user + system) a process has used so far, from /proc. */
export function processCpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // Fields after the command name (which may hold spaces) start after the last ')'.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const ticksPerSecond = 100;
  return (Number(fields[11]) + Number(fields[12])) / ticksPerSecond;
}
