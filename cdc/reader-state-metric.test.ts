import pg from 'pg';
import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { registerReaderStateMetric } from './reader-state-metric';
import { CdcHealthMonitor } from './slot-health';

async function currentState(registry: Registry): Promise<string[]> {
  const metric = await registry.getSingleMetric('cdc_reader_state')!.get();
  return metric.values.filter((value) => value.value === 1).map((value) => String(value.labels.state));
}

describe('cdc_reader_state', () => {
  it('says starting until the reader started, then running or paused as the fusebox says, and stopped once it gave up', async () => {
    // The pool never connects: readerState() issues no query.
    const monitor = new CdcHealthMonitor(new pg.Pool(), 'slot_a');
    const registry = new Registry();
    registerReaderStateMetric(registry, 'slot_a', () => monitor.readerState());
    expect(await currentState(registry)).toEqual(['starting']);
    let paused = false;
    monitor.pausedWhen(() => paused);
    expect(await currentState(registry)).toEqual(['running']);
    paused = true;
    expect(await currentState(registry)).toEqual(['paused']);
    monitor.failed(new Error('schema mismatch'));
    expect(await currentState(registry)).toEqual(['stopped']);
    // Every state has a series (0 or 1), so alerts over any state find one in a healthy system.
    const metric = await registry.getSingleMetric('cdc_reader_state')!.get();
    expect(metric.values.map((value) => value.labels.state).sort()).toEqual(['paused', 'running', 'starting', 'stopped']);
  });
});
