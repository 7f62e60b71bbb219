import { Counter, Gauge, Histogram, type Registry } from 'prom-client';

/** The sink's Prometheus series (DESIGN.md "Metrics"; the Grafana dashboards use these names). */
export class SinkMetrics {
  readonly applyLagSeconds: Histogram<'database'>;
  readonly eventsApplied: Counter<'mapping'>;
  readonly errors: Counter<'database'>;
  readonly backlogEvents: Gauge<'tenancy' | 'database'>;
  readonly consumerGroupLag: Gauge<'consumergroup' | 'topic' | 'partition'>;

  constructor(registry: Registry) {
    this.applyLagSeconds = new Histogram({
      name: 'sink_apply_lag_seconds',
      help: 'Source commit to the external database transaction that applied the change',
      labelNames: ['database'],
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
  }
}
