import { Partitioners, type Admin, type Kafka, type Producer, type Transaction } from 'kafkajs';
import { UnrecoverableError } from '../infra/runtime/errors';
import type { EventFormat } from '../schema/connect-event';
import type { Lsn } from './lsn';
import type { TopicRecord } from './envelope';
import type { TenantTopics } from './tenant-topics';

/**
 * Bytes of one partition's records per produce request. The broker refuses a record batch over
 * its `message.max.bytes` (1 MiB by default), and one big transaction easily exceeds that, so a
 * partition's records go out in batches of at most this size, one request after another.
 */
export const maxBatchBytes = 512 * 1024;

/**
 * Bytes per produce request, all partitions together. The broker's cost grows with the partitions
 * in a request far more than with its bytes (with a thousand tenant topics, a request takes
 * ~100 ms whatever its size), so requests are as large as the pipeline's sends.
 */
export const maxRequestBytes = 8 * 1024 * 1024;

// Per-record framing in a v2 record batch is at most a few dozen bytes; stay on the safe side.
const recordOverheadBytes = 64;

/** Splits records, in order, into runs whose estimated size stays under `maxBytes` (a lone larger record gets its own run). */
export function chunkBySize(records: readonly TopicRecord[], maxBytes: number): TopicRecord[][] {
  const chunks: TopicRecord[][] = [];
  let current: TopicRecord[] = [];
  let size = 0;
  for (const record of records) {
    const recordSize = Buffer.byteLength(record.key) + (record.value === null ? 0 : Buffer.byteLength(record.value)) + recordOverheadBytes;
    if (current.length > 0 && size + recordSize > maxBytes) {
      chunks.push(current);
      current = [];
      size = 0;
    }
    current.push(record);
    size += recordSize;
  }
  if (current.length > 0) chunks.push(current);
  return chunks;
}

export interface TopicMessages {
  topic: string;
  messages: { key: string; value: string | null; partition: number }[];
}

function sizeOf(records: readonly TopicRecord[]): number {
  return records.reduce((total, record) => total + Buffer.byteLength(record.key) + (record.value === null ? 0 : Buffer.byteLength(record.value)) + recordOverheadBytes, 0);
}

/**
 * Produce requests (each under `maxBytes`, each topic's part under `maxTopicBytes`, as
 * `chunkBySize` measures) for records that go into one Kafka transaction. Records are grouped by
 * topic first, keeping each topic's order: a partition then gets one record batch per request
 * instead of one per run of records, which is what makes publishing to a thousand tenant topics
 * affordable. Order across topics is not part of the
 * contract (a transaction's records become visible together).
 */
export function produceRequests(records: readonly TopicRecord[], maxBytes: number, maxTopicBytes = maxBytes): TopicMessages[][] {
  const byTopic = new Map<string, TopicRecord[]>();
  for (const record of records) {
    let list = byTopic.get(record.topic);
    if (!list) byTopic.set(record.topic, (list = []));
    list.push(record);
  }
  const requests: TopicMessages[][] = [];
  let current: TopicMessages[] = [];
  let size = 0;
  for (const [topic, list] of byTopic) {
    for (const chunk of chunkBySize(list, maxTopicBytes)) {
      const chunkSize = sizeOf(chunk);
      // A partition appears once per request: a topic's next chunk starts the next request.
      if (current.length > 0 && (size + chunkSize > maxBytes || current.at(-1)?.topic === topic)) {
        requests.push(current);
        current = [];
        size = 0;
      }
      // Tenant topics have one partition (the offset is the tenant's sequence): naming it spares
      // kafkajs hashing every key to find it.
      current.push({ topic, messages: chunk.map(({ key, value }) => ({ key, value, partition: 0 })) });
      size += chunkSize;
    }
  }
  if (current.length > 0) requests.push(current);
  return requests;
}

/**
 * Where the reader records, inside each Kafka transaction, the source position it has published up
 * to: the committed offset of a consumer group on a topic of its own. Kafka commits that offset
 * atomically with the transaction's records (TxnOffsetCommit), so the position and the events can
 * never disagree, and reading it back needs no consumer. An LSN is a 64-bit number and fits an
 * offset.
 */
export interface PositionRecord {
  /** Transactional id: one per slot, so a restarted reader fences the one it replaces. */
  transactionalId: string;
  groupId: string;
  /** Never written to; exists because Kafka only keeps offsets of existing topics. */
  topic: string;
}

export function positionRecord(topicPrefix: string, slot: string): PositionRecord {
  const name = `${topicPrefix}._cdc.${slot}`;
  return { transactionalId: name, groupId: name, topic: `${topicPrefix}._cdc_positions` };
}

/** The committed position's metadata string names the event format its topics hold. */
export function positionMetadata(format: EventFormat): string {
  return `format=${format}`;
}

/** Positions committed before the format was recorded have no metadata: they hold the schemaless envelope. */
export function formatOfPositionMetadata(metadata: string | null): string {
  const match = /^format=(.+)$/.exec(metadata ?? '');
  return match?.[1] ?? 'debezium-json';
}

/**
 * Publishes the reader's records in Kafka transactions (transactional, idempotent producer, acks=all,
 * one request in flight): the records of one or more source transactions and the commit LSN of the
 * last of them commit together or not at all. A read_committed consumer therefore never sees a
 * record twice, even when the reader dies between publishing and confirming its slot: the next
 * incarnation fences this one's transactional id (Kafka aborts whatever it left open), reads the
 * position back and skips what was already committed.
 */
export class KafkaPublisher {
  #producer: Producer | undefined;
  #transaction: Transaction | undefined;

  constructor(
    private readonly kafka: Kafka,
    private readonly admin: Admin,
    private readonly topics: TenantTopics,
    private readonly position: PositionRecord,
    /** Recorded with every position; a reader in another format refuses to continue this prefix. */
    private readonly format: EventFormat = 'debezium-json',
  ) {}

  /**
   * Takes over the transactional id — from here on an earlier incarnation can commit nothing — and
   * returns the commit LSN of the last source transaction published (undefined before the first).
   */
  async open(): Promise<Lsn | undefined> {
    await this.close();
    const producer = this.kafka.producer({
      transactionalId: this.position.transactionalId,
      idempotent: true,
      maxInFlightRequests: 1,
      allowAutoTopicCreation: false,
      createPartitioner: Partitioners.DefaultPartitioner,
      // Right after a commit the coordinator answers CONCURRENT_TRANSACTIONS for a few ms while it
      // writes the markers: retry soon, not after kafkajs's default 300 ms. Unbounded, so Kafka
      // being away stalls the reader (backpressure) instead of giving up mid-transaction.
      retry: { retries: Number.MAX_SAFE_INTEGER, initialRetryTime: 5, maxRetryTime: 5_000 },
      // A huge source transaction is one Kafka transaction: it may stay open for minutes. (A dead
      // reader's open transaction is aborted sooner: its successor fences it at start.)
      transactionTimeout: 600_000,
    });
    this.#producer = producer;
    await producer.connect();
    // The first transaction initialises the transactional id with a new epoch: this is the fence.
    const fence = await producer.transaction();
    await fence.abort();
    await this.topics.ensure([this.position.topic]);
    // Read only after fencing: no earlier incarnation can move the position any more.
    const [offsets] = await this.admin.fetchOffsets({ groupId: this.position.groupId, topics: [this.position.topic] });
    const stored = offsets?.partitions.find((partition) => partition.partition === 0);
    const offset = stored?.offset;
    if (offset === undefined || offset === '-1') return undefined;
    const publishedFormat = formatOfPositionMetadata(stored?.metadata ?? null);
    if (publishedFormat !== this.format) {
      // Consumers of a topic read one format: a Connect sink would die on the first schemaless
      // record, ksqlDB on the first schema'd one. Another format needs another topic prefix.
      throw new UnrecoverableError(
        'CDC_EVENT_FORMAT_MISMATCH',
        `topics of ${this.position.groupId} hold ${publishedFormat} events; CDC_EVENT_FORMAT=${this.format} needs another CDC_TOPIC_PREFIX`,
        { slot: this.position.groupId, publishedFormat, format: this.format },
      );
    }
    return BigInt(offset);
  }

  /** Sends records inside the open Kafka transaction, opening one if none is open. */
  async send(records: readonly TopicRecord[]): Promise<void> {
    if (records.length === 0) return;
    const producer = this.#producer;
    if (!producer) throw new Error('KafkaPublisher.send before open()');
    await this.topics.ensure(new Set(records.map((record) => record.topic)));
    const transaction = (this.#transaction ??= await producer.transaction());
    // No closure over `records` here: they must be collectable as soon as they are sent.
    try {
      for (const topicMessages of produceRequests(records, maxRequestBytes, maxBatchBytes)) await transaction.sendBatch({ acks: -1, topicMessages });
    } catch (error: unknown) {
      await this.#abandon();
      throw error;
    }
  }

  /** Commits the open Kafka transaction with `position`: records and position become visible together. */
  async commit(position: Lsn): Promise<void> {
    const transaction = this.#transaction;
    if (!transaction) return;
    try {
      // kafkajs's types omit the offset's metadata, which its TxnOffsetCommit request does send.
      const partition: { partition: number; offset: string; metadata: string } = { partition: 0, offset: position.toString(), metadata: positionMetadata(this.format) };
      await transaction.sendOffsets({
        consumerGroupId: this.position.groupId,
        topics: [{ topic: this.position.topic, partitions: [partition] }],
      });
      await transaction.commit();
    } catch (error: unknown) {
      await this.#abandon();
      throw error;
    }
    this.#transaction = undefined;
  }

  /**
   * Aborts the open Kafka transaction after a failure, best effort: if this process is the one
   * that failed, Kafka aborts it anyway when the next incarnation fences it, or when it times out.
   */
  async #abandon(): Promise<void> {
    const transaction = this.#transaction;
    this.#transaction = undefined;
    if (transaction?.isActive()) await transaction.abort().catch(() => undefined);
  }

  async close(): Promise<void> {
    const producer = this.#producer;
    this.#producer = undefined;
    this.#transaction = undefined;
    await producer?.disconnect().catch(() => undefined);
  }
}
