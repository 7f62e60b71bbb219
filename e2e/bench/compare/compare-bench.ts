import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { z } from 'zod';
import { debeziumJdbcSinkVersion } from '../../../infra/kafka-connect';
import { debeziumPostgresVersion } from '../../../infra/debezium/debezium-plugins';
import { repoRoot } from '../../../infra/local-settings';
import { runBench } from '../bench-setup';
import type { CaptureSystem } from './capture-system';
import { writeBarPanelsPng, type BarPanel } from './chart';
import { runOnce, type RunFigures } from './compare-run';
import { DebeziumSystem } from './debezium-system';
import { StackSyncSystem } from './stack-sync-system';
import { advantage, formatFigure, markdownTable, median, textTable } from './stats';
import { runTriggerBaseline, type BaselineFigures } from './trigger-baseline';

/**
 * `npm run bench:compare`: the auth workload through our pipeline and through Debezium (Kafka
 * Connect standalone: PostgreSQL source + JDBC sink; its defaults and tuned for latency), each
 * alone, alternating; with BENCH_COMPARE_PARTS=baseline the trigger design we replaced
 * (trigger-baseline.ts). Prints medians and
 * ratios, writes the raw figures (JSON) and a chart (PNG). Figures, not gates: never run in CI.
 */
const systemNames = ['stack-sync', 'debezium-default', 'debezium-tuned'] as const;
type SystemName = (typeof systemNames)[number];

const envSchema = z.object({
  /** Repetitions of each system (alternating). */
  BENCH_COMPARE_REPETITIONS: z.coerce.number().int().min(1).default(3),
  /** Which systems run, comma-separated. */
  BENCH_COMPARE_SYSTEMS: z
    .string()
    .default(systemNames.join(','))
    .transform((value) => value.split(',').map((name) => name.trim()))
    .pipe(z.array(z.enum(systemNames)).min(1)),
  /** `pipelines`, `baseline` or both (comma-separated); the default keeps one run near ten minutes. */
  BENCH_COMPARE_PARTS: z.string().default('pipelines'),
  // Defaults sized so three repetitions of all three systems take about ten minutes here
  // (Debezium's backlog at ~500 events/s dominates); raise them for a longer run.
  BENCH_COMPARE_WARM_UP_TRANSACTIONS: z.coerce.number().int().min(1).default(500),
  BENCH_COMPARE_BACKLOG_TRANSACTIONS: z.coerce.number().int().min(100).default(5_000),
  BENCH_COMPARE_CHANGES_PER_S: z.coerce.number().positive().default(1_000),
  BENCH_COMPARE_LATENCY_WARM_UP_S: z.coerce.number().min(0).default(2),
  BENCH_COMPARE_LATENCY_S: z.coerce.number().positive().default(10),
  BENCH_COMPARE_TIMEOUT_MS: z.coerce.number().int().positive().default(600_000),
  /** A JSON file of an earlier run (or its logged figures as `{"runs": [...]}`): print its table and chart, run nothing. */
  BENCH_COMPARE_SUMMARIZE: z.string().optional(),
  /** Where the JSON and the PNGs go (git-ignored by default). */
  BENCH_COMPARE_OUT_DIR: z.string().default(path.join(repoRoot, '.data', 'bench-compare')),
});

async function openSystem(name: SystemName): Promise<CaptureSystem> {
  if (name === 'stack-sync') return StackSyncSystem.open();
  return DebeziumSystem.open(name === 'debezium-default' ? 'default' : 'tuned');
}

interface Figure {
  title: string;
  key: keyof RunFigures;
  better: 'higher' | 'lower';
  digits: number;
}

const figures: Figure[] = [
  { title: 'events/s to Kafka', key: 'kafkaEventsPerS', better: 'higher', digits: 0 },
  { title: 'rows/s end to end', key: 'e2eRowsPerS', better: 'higher', digits: 0 },
  { title: 'rows/s end to end, start included', key: 'e2eRowsPerSWithStart', better: 'higher', digits: 0 },
  { title: 'start → first event, s', key: 'startToFirstEventS', better: 'lower', digits: 1 },
  { title: 'commit → Kafka p50, ms', key: 'kafkaP50Ms', better: 'lower', digits: 0 },
  { title: 'commit → Kafka p99, ms', key: 'kafkaP99Ms', better: 'lower', digits: 0 },
  { title: 'commit → external row p50, ms', key: 'e2eP50Ms', better: 'lower', digits: 0 },
  { title: 'commit → external row p99, ms', key: 'e2eP99Ms', better: 'lower', digits: 0 },
  { title: 'CPU-s per 100k changes', key: 'cpuSecondsPer100k', better: 'lower', digits: 1 },
  { title: 'CPU-s to start', key: 'startCpuSeconds', better: 'lower', digits: 1 },
  { title: 'peak RSS, MB', key: 'peakRssMb', better: 'lower', digits: 0 },
  { title: 'bytes per event', key: 'bytesPerEvent', better: 'lower', digits: 0 },
  { title: 'paced changes not seen in the target', key: 'e2eUnobserved', better: 'lower', digits: 0 },
];

function medianOf(runs: readonly RunFigures[], system: string, key: keyof RunFigures): number {
  return median(runs.filter((run) => run.system === system).map((run) => Number(run[key])));
}

/** The table of medians, and for each Debezium setting how many times better ours is. */
function pipelineTable(runs: readonly RunFigures[]): { header: string[]; rows: string[][] } {
  const systems = [...new Set(runs.map((run) => run.system))];
  const others = systems.filter((system) => system !== 'stack-sync');
  const header = ['median', ...systems, ...(systems.includes('stack-sync') ? others.map((other) => `× vs ${other}`) : [])];
  const rows = figures.map((figure) => {
    const values = systems.map((system) => formatFigure(medianOf(runs, system, figure.key), figure.digits));
    const ratios = systems.includes('stack-sync')
      ? others.map((other) => formatFigure(advantage(medianOf(runs, 'stack-sync', figure.key), medianOf(runs, other, figure.key), figure.better), 1))
      : [];
    return [figure.title, ...values, ...ratios];
  });
  return { header, rows };
}

async function runPipelines(env: z.infer<typeof envSchema>, log: (line: string) => void, failures: string[], save: (runs: RunFigures[]) => Promise<void>): Promise<RunFigures[]> {
  const runs: RunFigures[] = [];
  const sizes = {
    warmUpTransactions: env.BENCH_COMPARE_WARM_UP_TRANSACTIONS,
    backlogTransactions: env.BENCH_COMPARE_BACKLOG_TRANSACTIONS,
    changesPerSecond: env.BENCH_COMPARE_CHANGES_PER_S,
    latencyWarmUpSeconds: env.BENCH_COMPARE_LATENCY_WARM_UP_S,
    latencySeconds: env.BENCH_COMPARE_LATENCY_S,
    timeoutMs: env.BENCH_COMPARE_TIMEOUT_MS,
  };
  for (let repetition = 1; repetition <= env.BENCH_COMPARE_REPETITIONS; repetition++) {
    // Alternating, one system at a time: each runs alone, and drift of the machine over the run
    // (other load, page cache, the broker's log) spreads over all of them.
    for (const name of env.BENCH_COMPARE_SYSTEMS) {
      log(`repetition ${repetition}: ${name}`);
      const system = await openSystem(name);
      try {
        const figures = await runOnce(system, repetition, sizes, log);
        runs.push(figures);
        log(`  ${JSON.stringify(figures)}`);
        // Saved as it goes: an interrupted run keeps what it measured.
        await save(runs);
      } catch (error: unknown) {
        // One failed repetition is reported and left out of the medians; the others still run.
        log(`  ${name} repetition ${repetition} FAILED: ${error instanceof Error ? error.message : String(error)}`);
        failures.push(`${name} #${repetition}`);
      } finally {
        await system.close();
      }
    }
  }
  return runs;
}

function pipelinePanels(runs: readonly RunFigures[]): BarPanel[] {
  const systems = [...new Set(runs.map((run) => run.system))];
  const shown = figures.filter((figure) => !['e2eRowsPerSWithStart', 'startCpuSeconds', 'startToFirstEventS', 'bytesPerEvent', 'e2eUnobserved'].includes(figure.key));
  return shown.map((figure) => ({ title: figure.title, better: figure.better, bars: systems.map((system) => ({ label: system, value: medianOf(runs, system, figure.key) })) }));
}

async function main(): Promise<void> {
  const env = envSchema.parse(process.env);
  const parts = new Set(env.BENCH_COMPARE_PARTS.split(',').map((part) => part.trim()));
  await mkdir(env.BENCH_COMPARE_OUT_DIR, { recursive: true });
  const stamp = new Date().toISOString().replace(/[:.]/g, '-');
  const log = (line: string) => console.error(line);
  const failures: string[] = [];
  const output: { startedAt: string; settings: Record<string, unknown>; failures: string[]; runs?: RunFigures[]; baseline?: BaselineFigures } = {
    failures,
    startedAt: new Date().toISOString(),
    settings: { ...env, debeziumPostgres: debeziumPostgresVersion, debeziumJdbcSink: debeziumJdbcSinkVersion },
  };
  const jsonFile = path.join(env.BENCH_COMPARE_OUT_DIR, `compare-${stamp}.json`);
  if (env.BENCH_COMPARE_SUMMARIZE !== undefined) {
    const earlier = z.object({ runs: z.array(z.record(z.string(), z.unknown())) }).parse(JSON.parse(await readFile(env.BENCH_COMPARE_SUMMARIZE, 'utf8')));
    await printPipelines(earlier.runs as unknown as RunFigures[], env, stamp);
    return;
  }
  if (parts.has('pipelines')) {
    output.runs = await runPipelines(env, log, failures, async (runs) => writeFile(jsonFile, JSON.stringify({ ...output, runs }, null, 2)));
    await writeFile(jsonFile, JSON.stringify(output, null, 2));
    if (failures.length > 0) console.log(`\nfailed repetitions (left out): ${failures.join(', ')}`);
    await printPipelines(output.runs, env, stamp);
  }
  if (parts.has('baseline')) {
    output.baseline = await runTriggerBaseline(env.BENCH_COMPARE_REPETITIONS, log);
    await writeFile(jsonFile, JSON.stringify(output, null, 2));
    console.log(`\n${output.baseline.table}\n`);
  }
  console.log(`raw figures: ${jsonFile}`);
}

async function printPipelines(runs: RunFigures[], env: z.infer<typeof envSchema>, stamp: string): Promise<void> {
    const repetitions = Math.max(...[...new Set(runs.map((run) => run.system))].map((system) => runs.filter((run) => run.system === system).length));
    const table = pipelineTable(runs);
    console.log(`\nMedians of up to ${repetitions} repetitions each (sizes: the JSON's settings):\n`);
    console.log(textTable(table.header, table.rows));
    console.log(`\n${markdownTable(table.header, table.rows)}\n`);
    const png = path.join(env.BENCH_COMPARE_OUT_DIR, `compare-${stamp}.png`);
    await writeBarPanelsPng(png, 'Auth workload (sign-up / rename / delete), one 2-core machine: medians', pipelinePanels(runs));
    console.log(`chart: ${png}`);
}

runBench(main);
