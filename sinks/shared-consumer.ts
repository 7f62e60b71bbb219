import { setTimeout as delay } from 'node:timers/promises';
import type { Batch, Consumer, Kafka } from 'kafkajs';
import { errorMessage } from '../infra/runtime/errors';
import { logger } from '../infra/runtime/log';
import type { FetchedBatch, TopicControl } from './topic-lane';

const log = logger('sink');

/** How long a consumer being replaced may take to disconnect before it is abandoned, in ms. */
const disconnectWithinMs = 5_000;

export interface SharedConsumerOptions {
  kafka: Kafka;
  groupId: string;
  /** Kafka consumer session timeout, in ms. */
  sessionTimeoutMs: number;
  /** Each fetched batch; must return at once (the consumer fetches nothing else meanwhile). */
  onBatch(topic: string, batch: FetchedBatch): void;
  /** The topics this process now owns (after every group join). */
  onAssigned(topics: ReadonlySet<string>): void;
  /**
   * The consumer stopped reading (it crashed, or is being replaced for a new topic set): nothing
   * is fetched until the next `onAssigned`, which says what this process owns then.
   */
  onSuspended(): void;
}

/**
 * The sink process's one Kafka consumer over every tenant topic it serves, in one consumer group
 * shared by all sink processes (Kafka spreads the topics over them). Positions are not Kafka's:
 * each topic's lane seeks to what its databases' stored progress says. kafkajs resolves a
 * subscription when the consumer starts, so a changed topic set restarts the consumer.
 */
export class SharedConsumer implements TopicControl {
  #consumer: Consumer | undefined;
  /** True once the current consumer's run() has started (kafkajs refuses seeks and commits before). */
  #running = false;
  #topics: ReadonlySet<string> = new Set();
  #closed = false;
  #subscribing: Promise<void> = Promise.resolve();
  /** When the current consumer last showed it works: a fetch, a heartbeat or a group join (ms). */
  #lastSignAt = Date.now();

  constructor(private readonly options: SharedConsumerOptions) {}

  /**
   * Consumes exactly `topics` from now on (restarting the consumer if the set changed). Calls run
   * one after another: two at once (the config poll and a crash restart) made two consumers.
   */
  subscribe(topics: ReadonlySet<string>): Promise<void> {
    const next = this.#subscribing.then(() => this.#subscribe(topics));
    this.#subscribing = next.catch(() => undefined);
    return next;
  }

  async #subscribe(topics: ReadonlySet<string>): Promise<void> {
    if (this.#closed || sameSet(topics, this.#topics)) return;
    await this.#disconnect();
    this.#topics = new Set(topics);
    if (topics.size === 0) return;
    const { sessionTimeoutMs } = this.options;
    const consumer = this.options.kafka.consumer({
      groupId: this.options.groupId,
      allowAutoTopicCreation: false,
      maxWaitTimeInMs: 100,
      // Larger fetches mean larger external transactions when catching up a backlog.
      maxBytesPerPartition: 8 * 1024 * 1024,
      maxBytes: 32 * 1024 * 1024,
      // A SIGKILLed member stays in the group until its session times out, and a rebalance waits
      // for it up to the rebalance timeout: both bound how long a restarted sink waits to resume.
      sessionTimeout: sessionTimeoutMs,
      rebalanceTimeout: sessionTimeoutMs,
      heartbeatInterval: Math.max(100, Math.floor(sessionTimeoutMs / 5)),
      // kafkajs restarts a crashed consumer on the same client, whose connection to a broker that
      // was SIGKILLed and restarted can stay dead ("write after end", then "No broker available",
      // crash, restart, in a loop: seen in e2e/kafka-broker-restart.solo.test.ts). The CRASH
      // handler below replaces the consumer, and with it every connection, instead.
      retry: { restartOnFailure: async () => false },
    });
    this.#lastSignAt = Date.now();
    // Completed fetches (an idle one returns after maxWaitTime) and answered heartbeats: a fetch
    // that starts and fails, over and over, is no sign of work.
    for (const sign of [consumer.events.FETCH, consumer.events.HEARTBEAT]) {
      consumer.on(sign, () => {
        if (this.#consumer === consumer) this.#lastSignAt = Date.now();
      });
    }
    consumer.on(consumer.events.GROUP_JOIN, (event) => {
      if (this.#consumer !== consumer) {
        // A consumer given up on (replaced while stuck) came back to life and joined: it must not
        // steer the lanes, nor hold partitions nobody reads. Leaving the group hands them over.
        void consumer.disconnect().catch(() => undefined);
        return;
      }
      this.#lastSignAt = Date.now();
      const assigned = new Set(Object.keys(event.payload.memberAssignment));
      log.info('sink consumer joined its group', { groupId: this.options.groupId, topics: topics.size, assigned: assigned.size });
      // Runs before the first fetch of the new generation: lanes seek before anything is read.
      this.options.onAssigned(assigned);
    });
    consumer.on(consumer.events.CRASH, (event) => {
      if (this.#consumer !== consumer) return;
      log.error('sink consumer crashed', { error: errorMessage(event.payload.error), restart: event.payload.restart });
      this.options.onSuspended();
      if (!event.payload.restart) {
        // kafkajs gave up on this consumer: start a new one for the same topics.
        const wanted = this.#topics;
        this.#topics = new Set();
        void this.subscribe(wanted).catch((error: unknown) => log.error('could not restart the sink consumer', { error: errorMessage(error) }));
      }
    });
    this.#consumer = consumer;
    this.#running = false;
    try {
      await this.#start(consumer, topics);
    } catch (error: unknown) {
      // The broker away (a restart, an outage): forget the topic set, so the next config poll's
      // subscribe() tries again instead of finding "the same set" and never starting a consumer.
      if (this.#consumer === consumer) {
        this.#topics = new Set();
        await this.#disconnect();
      }
      throw error;
    }
    if (this.#consumer === consumer) this.#running = true;
  }

  async #start(consumer: Consumer, topics: ReadonlySet<string>): Promise<void> {
    await consumer.connect();
    await consumer.subscribe({ topics: [...topics], fromBeginning: true });
    await consumer.run({
      autoCommit: false,
      eachBatchAutoResolve: false,
      eachBatch: async ({ batch, isStale }) => {
        if (this.#consumer !== consumer) return;
        this.options.onBatch(batch.topic, {
          messages: batch.messages,
          fetchedFrom: fetchedOffsetOf(batch),
          lastOffset: BigInt(batch.lastOffset()),
          highWatermark: BigInt(batch.highWatermark),
          isStale,
        });
      },
    });
  }

  /**
   * Replaces a consumer that stopped working without saying so. Seen after a broker was SIGKILLed
   * and restarted: kafkajs neither fetched, heartbeated nor crashed again (its fetch loop hung; a
   * known kafkajs failure), so the sink stood still with the broker back. A consumer that shows no
   * sign for `stalledAfterMs` — several heartbeat intervals and fetch waits — is replaced; its
   * lanes reposition from their databases' stored progress, so nothing is skipped or repeated.
   */
  restartIfStalled(now = Date.now()): boolean {
    const consumer = this.#consumer;
    if (!consumer || !this.#running || this.#closed) return false;
    const silentMs = now - this.#lastSignAt;
    if (silentMs < this.#stalledAfterMs()) return false;
    log.warn('sink consumer showed no sign of work; replacing it', { groupId: this.options.groupId, silentMs });
    const wanted = this.#topics;
    // A fresh chain: whatever the stuck consumer's calls are awaiting must not hold the new one back.
    this.#subscribing = Promise.resolve();
    this.#topics = new Set();
    void this.subscribe(wanted).catch((error: unknown) => log.error('could not restart the sink consumer', { error: errorMessage(error) }));
    return true;
  }

  #stalledAfterMs(): number {
    return Math.max(10_000, 3 * this.options.sessionTimeoutMs);
  }

  pause(topic: string): void {
    this.#steer((consumer) => consumer.pause([{ topic }]));
  }

  resume(topic: string): void {
    this.#steer((consumer) => consumer.resume([{ topic }]));
  }

  seek(topic: string, offset: bigint): void {
    this.#steer((consumer) => consumer.seek({ topic, partition: 0, offset: offset.toString() }));
  }

  /** Advisory group offsets (kafka_exporter lag, dashboards); never where a lane resumes. */
  async commit(positions: ReadonlyArray<{ topic: string; offset: bigint }>): Promise<void> {
    const consumer = this.#consumer;
    if (!consumer || !this.#running || positions.length === 0) return;
    await consumer.commitOffsets(positions.map(({ topic, offset }) => ({ topic, partition: 0, offset: offset.toString() })));
  }

  async close(): Promise<void> {
    this.#closed = true;
    await this.#subscribing;
    await this.#disconnect();
  }

  #steer(action: (consumer: Consumer) => void): void {
    const consumer = this.#consumer;
    if (!consumer) return;
    try {
      action(consumer);
    } catch {
      // Not running yet (or being replaced): the next group join repositions every lane anyway.
    }
  }

  async #disconnect(): Promise<void> {
    const consumer = this.#consumer;
    this.#consumer = undefined;
    this.#running = false;
    this.options.onSuspended();
    // A stuck consumer may never finish disconnecting: it is abandoned after a while.
    if (consumer) {
      const giveUp = new AbortController();
      await Promise.race([consumer.disconnect().catch(() => undefined), delay(disconnectWithinMs, undefined, { signal: giveUp.signal }).catch(() => undefined)]);
      giveUp.abort();
    }
  }
}

/** kafkajs keeps the offset a batch was fetched from on the batch, untyped. */
function fetchedOffsetOf(batch: Batch): bigint {
  const fetched: unknown = (batch as Batch & { fetchedOffset?: unknown }).fetchedOffset;
  if (typeof fetched !== 'string' && typeof fetched !== 'number' && typeof fetched !== 'bigint') throw new Error(`kafkajs batch of ${batch.topic} has no fetched offset`);
  return BigInt(fetched);
}

function sameSet(a: ReadonlySet<string>, b: ReadonlySet<string>): boolean {
  return a.size === b.size && [...a].every((item) => b.has(item));
}
