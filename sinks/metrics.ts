import { Counter, Gauge, Histogram, type Registry } from 'prom-client';

/** The sink's Prometheus series (DESIGN.md "Metrics"; the Grafana dashboards use these names). */
export class SinkMetrics {
  readonly applyLagSeconds: Histogram<'database'>;
  readonly tenancyApplyLagSeconds: Histogram<'tenancy'>;
  readonly eventsApplied: Counter<'mapping'>;
  readonly errors: Counter<'database'>;
  readonly backlogEvents: Gauge<'tenancy' | 'database'>;
  readonly consumerGroupLag: Gauge<'consumergroup' | 'topic' | 'partition'>;
  readonly databaseLagSeconds: Gauge<'tenancy' | 'database'>;
  /** The databases whose lag is reported at each scrape; the supervisor sets it. */
  databaseLags: () => Iterable<{ tenancyId: string; databaseId: string; lagSeconds: number }> = () => [];

  constructor(registry: Registry) {
    this.applyLagSeconds = new Histogram({
      name: 'sink_apply_lag_seconds',
      help: 'Source commit to the external database transaction that applied the change',
      labelNames: ['database'],
      buckets: [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300],
      registers: [registry],
    });
    // The same observations per tenancy (dashboards: end-to-end lag p50/p99 per tenancy). Not per
    // database as well: 15 series per label set, times every tenancy, is what a sink can afford.
    this.tenancyApplyLagSeconds = new Histogram({
      name: 'sink_tenancy_apply_lag_seconds',
      help: 'Source commit to the external database transaction that applied the change, by tenancy',
      labelNames: ['tenancy'],
      buckets: [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300],
      registers: [registry],
    });
    this.eventsApplied = new Counter({
      name: 'sink_events_applied_total',
      help: 'Change events applied to external databases, by mapping',
      labelNames: ['mapping'],
      registers: [registry],
    });
    this.errors = new Counter({
      name: 'sink_errors_total',
      help: 'Failed attempts to prepare or apply to an external database',
      labelNames: ['database'],
      registers: [registry],
    });
    this.backlogEvents = new Gauge({
      name: 'sink_backlog_events',
      help: 'Records in the tenant topic after the last one applied to this database',
      labelNames: ['tenancy', 'database'],
      registers: [registry],
    });
    this.consumerGroupLag = new Gauge({
      name: 'kafka_consumergroup_lag',
      help: 'kafka_exporter-compatible: high watermark minus the group’s committed offset',
      labelNames: ['consumergroup', 'topic', 'partition'],
      registers: [registry],
    });
    const lags = () => this.databaseLags();
    this.databaseLagSeconds = new Gauge({
      name: 'sink_database_lag_seconds',
      help: 'Now minus the source commit time of the oldest change this external database has not applied (0 when caught up); grows while it is stuck or paused',
      labelNames: ['tenancy', 'database'],
      registers: [registry],
      // Evaluated against the clock at each scrape, not when events arrive: a stuck database gets
      // no events, and its lag must grow all the same.
      collect() {
        this.reset();
        for (const { tenancyId, databaseId, lagSeconds } of lags()) this.set({ tenancy: tenancyId, database: databaseId }, lagSeconds);
      },
    });
  }
}
