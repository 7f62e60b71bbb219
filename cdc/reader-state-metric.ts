import { Gauge, type Registry } from 'prom-client';
import { readerStates, type ReaderState } from './slot-health';

/**
 * `cdc_reader_state{slot,state}`: one series per state, 1 for the current one (like the slot's
 * condition), so an alert can ask how long the reader has been paused or not running. Registered
 * in the process's registry, not the reader's: it must report `starting` while the reader cannot
 * start and `stopped` after it gave up, when no reader registry exists.
 */
export function registerReaderStateMetric(registry: Registry, slot: string, state: () => ReaderState): Gauge<'slot' | 'state'> {
  return new Gauge({
    name: 'cdc_reader_state',
    help: 'The cdc reader’s state, one series per state, 1 for the current one: starting, running, paused (fusebox), stopped (gave up; see /health)',
    labelNames: ['slot', 'state'],
    registers: [registry],
    collect() {
      const current = state();
      for (const each of readerStates) this.set({ slot, state: each }, each === current ? 1 : 0);
    },
  });
}
