import { waitFor } from '../../infra/wait-for';
import { PartProcess } from '../harness/part-process';
import { processMemoryMb } from '../harness/process-memory';
import { percentile, type BenchSetup } from './bench-setup';
import { externalCommitTimes, processCpuSeconds, topicEndOffset, TopicWatch, untilExternalRow } from './outside-measure';
import { writeSignUpWorkload, type WrittenWorkload } from './sign-up-workload';

/**
 * The sign-up/rename workload through the pipeline's real processes (cdc and sink, each its own
 * Node process as in production), measured from the outside. Shared by `bench:cdc` and
 * `bench:sink`.
 */

type Part = 'cdc' | 'sink';

export interface PartFigures {
  /** CPU seconds (user + system) of the process from its start to the end of the measurement. */
  cpuSeconds: number;
  /** CPU seconds it had used when the first change came out (start-up: Node, tsx, connecting, joining). */
  startCpuSeconds: number;
  peakRssMb: number;
}

export interface BacklogFigures {
  workload: WrittenWorkload;
  /** Transactions/s at which the backlog itself was written (4 connections, pipeline stopped). */
  writtenTransactionsPerSecond: number;
  /** Processes started → first change visible downstream, ms. */
  startMs: number;
  /** Processes started → last change visible downstream, ms. */
  totalMs: number;
  parts: Record<Part, PartFigures | undefined>;
}

/** BENCH_CPU_PROF_DIR=<dir>: every part process writes a V8 CPU profile there when it stops (`--cpu-prof`). */
const cpuProfileDir = process.env.BENCH_CPU_PROF_DIR;
/** BENCH_NODE_FLAGS="--trace-gc …": more node options for every part process (investigating a figure). */
const extraNodeFlags = (process.env.BENCH_NODE_FLAGS ?? '').split(' ').filter((flag) => flag !== '');

function startPart(setup: BenchSetup, part: Part): PartProcess {
  const profile = cpuProfileDir ? ['--cpu-prof', `--cpu-prof-dir=${cpuProfileDir}`] : [];
  const child = new PartProcess(part, setup.config, `bench-${part}`, [...(part === 'cdc' ? ['--max-old-space-size=192'] : []), ...profile, ...extraNodeFlags]);
  child.start();
  return child;
}

function tenantTopic(setup: BenchSetup): string {
  return `${setup.config.CDC_TOPIC_PREFIX}.${setup.tenancyId}`;
}

async function partFigures(child: PartProcess, startCpuSeconds: number): Promise<PartFigures> {
  const pid = child.pid;
  if (pid === undefined || child.exitCode !== null) throw new Error(`a part exited during the measurement:\n${child.output}`);
  return { cpuSeconds: processCpuSeconds(pid), startCpuSeconds, peakRssMb: Math.round(await processMemoryMb(pid, 'VmHWM')) };
}

/**
 * Starts the parts and writes a paced warm-up through them (the tenant's topic gets created, the
 * JITs warm), waiting until it came out at the end (`sink` given: the external table, else Kafka).
 */
export async function warmUp(setup: BenchSetup, parts: readonly Part[], changes: number): Promise<Map<Part, PartProcess>> {
  const running = new Map(parts.map((part) => [part, startPart(setup, part)] as const));
  try {
    // Changes committed before the reader created its slot would not be in its stream.
    await waitFor('the reader to stream from its slot', async () => {
      const slot = await setup.internal.query<{ active: boolean }>('SELECT active FROM pg_replication_slots WHERE slot_name = $1', [setup.config.CDC_SLOT]);
      return slot.rows[0]?.active === true;
    }, { timeoutMs: 120_000, intervalMs: 20 });
    const written = await writeSignUpWorkload(setup.internal, { tenancyId: setup.tenancyId, changes, label: 'warm', transactionsPerSecond: 600 });
    if (running.has('sink')) await untilExternalRow(setup.externalUrl, written.endMarkerUserId, 120_000);
    else await waitFor('the warm-up to reach Kafka', async () => (await topicEndOffset(setup.config.KAFKA_BROKERS, tenantTopic(setup))) >= written.changes, { timeoutMs: 120_000, intervalMs: 50 });
    return running;
  } catch (error: unknown) {
    const output = [...running].map(([part, child]) => `--- ${part} (exit ${child.exitCode}):\n${child.output}`).join('\n');
    await stopParts(running);
    throw new Error(`warm-up failed: ${error instanceof Error ? error.message : String(error)}\n${output}`);
  }
}

export interface LatencyFigures {
  achievedChangesPerSecond: number;
  kafka: { p50: number; p99: number; max: number; count: number };
  /** Undefined without a sink. */
  external: { p50: number; p99: number; max: number; count: number } | undefined;
}

function summary(values: number[]): { p50: number; p99: number; max: number; count: number } {
  const sorted = [...values].sort((a, b) => a - b);
  return { p50: Math.round(percentile(sorted, 50)), p99: Math.round(percentile(sorted, 99)), max: Math.round(sorted.at(-1) ?? Number.NaN), count: sorted.length };
}

/**
 * Latency at a steady `changesPerSecond` (4 writer connections) while the parts run: commit →
 * read_committed consumer received it (source commit time from the envelope's `source.ts_ms`),
 * and, with a sink, commit → the external transaction that wrote the row committed
 * (`pg_xact_commit_timestamp`), per `ProjectUser` row.
 */
export async function measureLatency(setup: BenchSetup, changes: number, changesPerSecond: number, withSink: boolean): Promise<LatencyFigures> {
  const topic = tenantTopic(setup);
  const watch = await TopicWatch.start({ brokers: setup.config.KAFKA_BROKERS, topic, fromOffset: await topicEndOffset(setup.config.KAFKA_BROKERS, topic) });
  try {
    // Two sign-ups and a rename: five changes per three transactions.
    const transactionsPerSecond = (changesPerSecond * 3) / 5;
    const label = `steady${changesPerSecond}`;
    const written = await writeSignUpWorkload(setup.internal, { tenancyId: setup.tenancyId, changes, label, transactionsPerSecond });
    await watch.until(written.changes);
    let external: LatencyFigures['external'];
    if (withSink) {
      await untilExternalRow(setup.externalUrl, written.endMarkerUserId);
      const applied = await externalCommitTimes(setup.externalUrl, `${label}-`);
      const latencies: number[] = [];
      for (const [name, appliedAt] of applied) {
        const committedAt = watch.commitTimeByDisplayName.get(name);
        if (committedAt !== undefined) latencies.push(appliedAt - committedAt);
      }
      external = summary(latencies);
    }
    return { achievedChangesPerSecond: Math.round(written.changes / (written.elapsedMs / 1000)), kafka: summary(watch.commitToReceiveMs), external };
  } finally {
    await watch.stop();
  }
}

/**
 * Writes `changes` as a backlog while the parts are stopped, then starts them and times until the
 * last change is visible: to a read_committed consumer (cdc alone) or in the external table (with
 * a sink). Start-up is inside the total and also reported apart.
 */
export async function measureBacklog(setup: BenchSetup, changes: number, parts: readonly Part[]): Promise<BacklogFigures> {
  const topic = tenantTopic(setup);
  const label = `backlog${Date.now()}`;
  const written = await writeSignUpWorkload(setup.internal, { tenancyId: setup.tenancyId, changes, label });
  const fromOffset = await topicEndOffset(setup.config.KAFKA_BROKERS, topic);
  const withSink = parts.includes('sink');
  const startCpu = new Map<Part, number>();
  let firstAtMs: number | undefined;
  const running = new Map<Part, PartProcess>();
  const noteFirst = () => {
    if (firstAtMs !== undefined) return;
    firstAtMs = Date.now();
    for (const [part, child] of running) if (child.pid !== undefined) startCpu.set(part, processCpuSeconds(child.pid));
  };
  // Without a sink the consumer is the measurement; with one, the external table is (a consumer
  // would take CPU from the parts being measured).
  const watch = withSink ? undefined : await TopicWatch.start({ brokers: setup.config.KAFKA_BROKERS, topic, fromOffset, onRecord: noteFirst });
  try {
    const startedAtMs = Date.now();
    for (const part of parts) running.set(part, startPart(setup, part));
    let endAtMs: number;
    if (watch) {
      await watch.until(written.changes);
      endAtMs = watch.lastAtMs!;
    } else {
      await waitFor('the sink to apply its first change', async () => {
        const applied = await setup.externalQuery<{ id: string }>('SELECT max(last_synced_sequence_id)::text AS id FROM _stack_sync_metadata').catch(() => []);
        return Number(applied[0]?.id ?? -1) >= fromOffset;
      }, { timeoutMs: 300_000, intervalMs: 5 });
      noteFirst();
      endAtMs = await untilExternalRow(setup.externalUrl, written.endMarkerUserId);
    }
    const figures: BacklogFigures['parts'] = { cdc: undefined, sink: undefined };
    for (const [part, child] of running) figures[part] = await partFigures(child, startCpu.get(part) ?? Number.NaN);
    return {
      workload: written,
      writtenTransactionsPerSecond: Math.round(written.transactions / (written.elapsedMs / 1000)),
      startMs: (firstAtMs ?? endAtMs) - startedAtMs,
      totalMs: endAtMs - startedAtMs,
      parts: figures,
    };
  } finally {
    await watch?.stop();
    for (const child of running.values()) await child.stop();
  }
}

export async function stopParts(running: Map<Part, PartProcess>): Promise<void> {
  for (const child of running.values()) await child.stop();
}
