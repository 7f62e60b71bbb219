import cliProgress from 'cli-progress';
import { setTimeout as delay } from 'node:timers/promises';

export interface ProgressReading {
  done: number;
  /** Null while not known yet. */
  total: number | null;
  finished: boolean;
}

/**
 * Polls `read` until it reports finished, drawing a live bar: rows done of total, rate, time left
 * (cli-progress computes the estimate from the rate). On a terminal the bar redraws in place;
 * otherwise it prints a line per update so logs of a CI job stay readable.
 */
export async function watchProgress(label: string, read: () => Promise<ProgressReading>, { intervalMs = 500, stream = process.stderr } = {}): Promise<ProgressReading> {
  const bar = new cliProgress.SingleBar(
    {
      format: `${label} [{bar}] {percentage}% | {value}/{total} rows | {speed} rows/s | {eta_formatted} left`,
      stream,
      noTTYOutput: true,
      notTTYSchedule: 2_000,
      hideCursor: true,
      etaBuffer: 20,
    },
    cliProgress.Presets.shades_classic,
  );
  const startedAt = Date.now();
  let reading = await read();
  let firstDone = reading.done;
  bar.start(Math.max(1, reading.total ?? 1), reading.done, { speed: '0' });
  try {
    while (!reading.finished) {
      await delay(intervalMs);
      reading = await read();
      if (reading.done < firstDone) firstDone = reading.done;
      const seconds = (Date.now() - startedAt) / 1000;
      bar.setTotal(Math.max(1, reading.total ?? reading.done));
      bar.update(reading.done, { speed: seconds > 0 ? String(Math.round((reading.done - firstDone) / seconds)) : '0' });
    }
    bar.setTotal(Math.max(1, reading.total ?? reading.done));
    bar.update(reading.total ?? reading.done);
  } finally {
    bar.stop();
  }
  return reading;
}
