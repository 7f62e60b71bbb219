import { setTimeout as delay } from 'node:timers/promises';
import { Kafka, logLevel } from 'kafkajs';
import { errorMessage } from './errors';

export type KafkaReachability = { reachable: true } | { reachable: false; error: string };

/** Longest a probe waits for the broker, in ms; /health must answer quickly even when Kafka hangs. */
const probeTimeoutMs = 2_000;
/** A result is reused this long, in ms, so frequent health checks do not each open a connection. */
const cacheMs = 1_000;

/**
 * Whether the brokers answer a metadata request now. The reader's producer and the sink's consumer
 * retry on their own for tens of seconds before they fail, so their errors alone would show an
 * outage late: /health asks the broker directly and says `degraded` (still serving, not failing)
 * while it is away.
 */
export class KafkaProbe {
  readonly #kafka: Kafka;
  #last: { at: number; result: KafkaReachability } | undefined;

  constructor(brokers: string[], clientId: string) {
    this.#kafka = new Kafka({ clientId, brokers, logLevel: logLevel.NOTHING, retry: { retries: 0 }, connectionTimeout: 1_000, requestTimeout: probeTimeoutMs });
  }

  async check(): Promise<KafkaReachability> {
    if (this.#last && Date.now() - this.#last.at < cacheMs) return this.#last.result;
    const result = await this.#probe();
    this.#last = { at: Date.now(), result };
    return result;
  }

  async #probe(): Promise<KafkaReachability> {
    const admin = this.#kafka.admin();
    const timeout = new AbortController();
    try {
      const answered = admin.connect().then(() => admin.describeCluster());
      const timedOut = delay(probeTimeoutMs, 'timeout' as const, { signal: timeout.signal });
      const outcome = await Promise.race([answered, timedOut]);
      if (outcome === 'timeout') return { reachable: false, error: `no answer within ${probeTimeoutMs} ms` };
      return outcome.brokers.length > 0 ? { reachable: true } : { reachable: false, error: 'no broker in the cluster metadata' };
    } catch (error: unknown) {
      return { reachable: false, error: errorMessage(error).slice(0, 300) };
    } finally {
      timeout.abort();
      await admin.disconnect().catch(() => undefined);
    }
  }
}
