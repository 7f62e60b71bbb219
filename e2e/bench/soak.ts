import { setTimeout as delay } from 'node:timers/promises';
import { waitFor } from '../../infra/wait-for';
import { expectConverged } from '../harness/oracle';
import { PartProcess } from '../harness/part-process';
import { unusedPort } from '../harness/private-broker';
import { SeededRandom } from '../harness/seeded-random';
import { UserWorkload } from '../harness/workload';
import { benchSetup } from './bench-setup';

export interface SoakOptions {
  durationSeconds: number;
  /** How often each process's /metrics is sampled, in ms. */
  sampleEveryMs: number;
}

export interface ProcessSoakFigures {
  rss_start_mb: number;
  rss_end_mb: number;
  rss_max_mb: number;
  /** Least-squares slope of RSS over the run after its first fifth (warm-up), in MB per minute. */
  rss_slope_mb_per_min: number;
  event_loop_lag_p99_max_ms: number;
}

export interface SoakFigures {
  duration_s: number;
  transactions_committed: number;
  transactions_rolled_back: number;
  cdc: ProcessSoakFigures;
  sink: ProcessSoakFigures;
  converged_after_ms: number;
}

interface Sample {
  atMs: number;
  rssBytes: number;
  eventLoopLagP99Seconds: number;
}

/** One gauge's value from Prometheus text (default metrics of prom-client: unlabelled). */
function gauge(text: string, name: string): number {
  const line = text.split('\n').find((candidate) => candidate.startsWith(`${name} `));
  return line === undefined ? Number.NaN : Number(line.slice(name.length + 1));
}

async function sample(part: PartProcess, startedAt: number): Promise<Sample | undefined> {
  if (part.metricsUrl === undefined) return undefined;
  const text = await fetch(`${part.metricsUrl}/metrics`, { signal: AbortSignal.timeout(5_000) }).then((response) => response.text()).catch(() => undefined);
  if (text === undefined) return undefined;
  return { atMs: Date.now() - startedAt, rssBytes: gauge(text, 'process_resident_memory_bytes'), eventLoopLagP99Seconds: gauge(text, 'nodejs_eventloop_lag_p99_seconds') };
}

/** Least-squares slope of y over x. */
export function slope(points: ReadonlyArray<readonly [number, number]>): number {
  if (points.length < 2) return 0;
  const meanX = points.reduce((sum, [x]) => sum + x, 0) / points.length;
  const meanY = points.reduce((sum, [, y]) => sum + y, 0) / points.length;
  const covariance = points.reduce((sum, [x, y]) => sum + (x - meanX) * (y - meanY), 0);
  const variance = points.reduce((sum, [x]) => sum + (x - meanX) ** 2, 0);
  return variance === 0 ? 0 : covariance / variance;
}

function summarise(samples: readonly Sample[], durationMs: number): ProcessSoakFigures {
  const mb = (bytes: number) => Math.round((bytes / 1024 / 1024) * 10) / 10;
  const settled = samples.filter((entry) => entry.atMs >= durationMs / 5);
  const perMs = slope(settled.map((entry) => [entry.atMs, entry.rssBytes] as const));
  return {
    rss_start_mb: mb(samples[0]?.rssBytes ?? Number.NaN),
    rss_end_mb: mb(samples.at(-1)?.rssBytes ?? Number.NaN),
    rss_max_mb: mb(Math.max(...samples.map((entry) => entry.rssBytes))),
    rss_slope_mb_per_min: Math.round(mb(perMs * 60_000) * 10) / 10,
    event_loop_lag_p99_max_ms: Math.round(Math.max(...samples.map((entry) => entry.eventLoopLagP99Seconds)) * 1000 * 10) / 10,
  };
}

/**
 * The mixed workload (creates, renames, metadata, emails, deletes, rollbacks; two writers) for a
 * long time through the cdc and sink processes, each its own OS process as in production, while
 * their /metrics are sampled: resident memory and event-loop lag over time. Afterwards the external
 * database must equal the oracle.
 */
export async function runSoak(options: SoakOptions): Promise<SoakFigures> {
  const setup = await benchSetup();
  const cdc = new PartProcess('cdc', setup.config, 'stack-sync-cdc', ['--max-old-space-size=192'], { env: { METRICS_PORT: String(await unusedPort()) } });
  const sink = new PartProcess('sink', setup.config, undefined, [], { env: { METRICS_PORT: String(await unusedPort()) } });
  const samples = { cdc: [] as Sample[], sink: [] as Sample[] };
  try {
    cdc.start();
    sink.start();
    for (const part of [cdc, sink]) {
      await waitFor('the part to run (/health 200)', async () => part.metricsUrl !== undefined && (await fetch(`${part.metricsUrl}/health`)).status === 200, { timeoutMs: 60_000 }).catch((error: unknown) => {
        throw new Error(`${error instanceof Error ? error.message : String(error)}; exit code ${part.exitCode}; output:\n${part.output.slice(-3_000)}`);
      });
    }
    await setup.internal.query(
      `INSERT INTO "ProjectUser" ("tenancyId", "projectUserId", "displayName") SELECT $1, gen_random_uuid(), 'seed-' || n FROM generate_series(1, 50) AS n`,
      [setup.tenancyId],
    );
    const workload = new UserWorkload(setup.internal, [setup.tenancyId], new SeededRandom(31_337));
    const startedAt = Date.now();
    const durationMs = options.durationSeconds * 1000;
    let running = true;
    const writing = workload.run(2, () => running && Date.now() - startedAt < durationMs);
    while (Date.now() - startedAt < durationMs) {
      for (const [name, part] of [['cdc', cdc], ['sink', sink]] as const) {
        const taken = await sample(part, startedAt);
        if (taken) samples[name].push(taken);
      }
      // Sampling cadence, not synchronisation.
      await delay(options.sampleEveryMs);
    }
    running = false;
    await writing;
    const quietAt = Date.now();
    await expectConverged(setup.internal, setup.tenancyId, setup.externalUrl, 120_000).catch((error: unknown) => {
      throw new Error(`${error instanceof Error ? error.message : String(error)}\nsink output:\n${sink.output.slice(-3_000)}`);
    });
    for (const [name, part] of [['cdc', cdc], ['sink', sink]] as const) {
      if (part.exitCode !== null) throw new Error(`${name} exited with ${part.exitCode}:\n${part.output.slice(-2_000)}`);
    }
    return {
      duration_s: options.durationSeconds,
      transactions_committed: workload.committed,
      transactions_rolled_back: workload.rolledBack,
      cdc: summarise(samples.cdc, durationMs),
      sink: summarise(samples.sink, durationMs),
      converged_after_ms: Date.now() - quietAt,
    };
  } finally {
    await Promise.all([cdc.stop(), sink.stop()]);
    await setup.close();
  }
}
