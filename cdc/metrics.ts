import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import { slotConditions, type SlotHealth } from './slot-health';

/** The cdc reader's Prometheus series (DESIGN.md "Metrics"; the Grafana dashboards use these names). */
export class CdcMetrics {
  readonly slotLagBytes: Gauge<'slot'>;
  readonly slotCondition: Gauge<'slot' | 'condition'>;
  readonly slotSafeWalBytes: Gauge<'slot'>;
  readonly eventsPublished: Counter<'table' | 'op'>;
  readonly commitToPublishSeconds: Histogram;
  readonly transactionsPublished: Counter;
  readonly transactionsSkipped: Counter;
  readonly reconnects: Counter;
  readonly sourceLagSeconds: Gauge;

  /** `sampleSlot` runs when Prometheus scrapes (once per scrape), so an idle process issues no queries. */
  /**
   * `sampleSourceLag` gives the seconds since the commit of the oldest source change not yet
   * committed in Kafka (0: none), or undefined when it cannot tell; it runs at each scrape.
   */
  constructor(registry: Registry, slot: string, sampleSlot: () => Promise<SlotHealth>, sampleSourceLag: () => Promise<number | undefined> = async () => undefined) {
    // The three slot gauges are collected together: one query per scrape, shared.
    let sampling: Promise<SlotHealth | undefined> | undefined;
    const sample = (): Promise<SlotHealth | undefined> => {
      sampling ??= sampleSlot()
        .catch(() => undefined)
        .finally(() => setImmediate(() => (sampling = undefined)));
      return sampling;
    };
    this.slotLagBytes = new Gauge({
      name: 'cdc_replication_slot_lag_bytes',
      help: 'WAL bytes between the server’s current LSN and the slot’s confirmed flush LSN',
      labelNames: ['slot'],
      registers: [registry],
      async collect() {
        const health = await sample();
        if (health?.retainedBytes !== null && health?.retainedBytes !== undefined) this.set({ slot }, health.retainedBytes);
      },
    });
    this.slotCondition = new Gauge({
      name: 'cdc_replication_slot_condition',
      help: 'The slot’s condition, one series per condition, 1 for the current one: healthy, at_risk (wal_status unreserved), lost, missing',
      labelNames: ['slot', 'condition'],
      registers: [registry],
      async collect() {
        const health = await sample();
        if (!health) return;
        for (const condition of slotConditions) this.set({ slot, condition }, condition === health.condition ? 1 : 0);
      },
    });
    this.slotSafeWalBytes = new Gauge({
      name: 'cdc_replication_slot_safe_wal_size_bytes',
      help: 'WAL that may still be written before the slot loses WAL it needs (absent without max_slot_wal_keep_size)',
      labelNames: ['slot'],
      registers: [registry],
      async collect() {
        const health = await sample();
        if (health?.safeWalSizeBytes !== null && health?.safeWalSizeBytes !== undefined) this.set({ slot }, health.safeWalSizeBytes);
      },
    });
    this.eventsPublished = new Counter({
      name: 'cdc_events_published_total',
      help: 'Change events acknowledged by Kafka',
      labelNames: ['table', 'op'],
      registers: [registry],
    });
    this.commitToPublishSeconds = new Histogram({
      name: 'cdc_commit_to_publish_seconds',
      help: 'Source commit time to Kafka acknowledgement of the transaction’s events',
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
      registers: [registry],
    });
    this.transactionsPublished = new Counter({
      name: 'cdc_transactions_published_total',
      help: 'Source transactions whose events Kafka acknowledged and whose LSN was confirmed',
      registers: [registry],
    });
    this.transactionsSkipped = new Counter({
      name: 'cdc_transactions_already_published_total',
      help: 'Transactions the slot replayed after a restart that Kafka had already committed (skipped, not republished)',
      registers: [registry],
    });
    this.sourceLagSeconds = new Gauge({
      name: 'cdc_source_lag_seconds',
      help: 'Now minus the source commit time of the oldest committed change not yet committed in Kafka (0 when caught up); grows while the reader is down or paused',
      registers: [registry],
      async collect() {
        const lag = await sampleSourceLag().catch(() => undefined);
        if (lag === undefined) this.reset();
        else this.set(lag);
      },
    });
    this.reconnects = new Counter({
      name: 'cdc_replication_reconnects_total',
      help: 'Times the replication stream was re-established after an error',
      registers: [registry],
    });
  }
}
