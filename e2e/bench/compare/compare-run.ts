import { waitFor } from '../../../infra/wait-for';
import { AuthWriter, writeBacklog, writePaced } from './auth-workload';
import type { CaptureSystem } from './capture-system';
import { CpuSampler, peakRssMb } from './process-usage';
import { percentile } from './stats';
import { TopicWatcher } from './topic-watcher';

/**
 * One repetition of one system, alone on the machine: the same steps and the same observers for
 * every system, so the figures differ only by what runs between the WAL and the external table.
 *
 * 1. Start it, sign up `warmUpTransactions` worth of the mix, wait until the external database has
 *    the last one (code paths warm, topics and target tables exist), stop it.
 * 2. Write `backlogTransactions` of the mix from 4 connections while it is stopped, then a marker
 *    sign-up; start it and time, from the outside, the first and the last event a read_committed
 *    consumer sees and the marker's rows in the external database.
 * 3. With it running, write the mix at `changesPerSecond` (warm-up, then the measured seconds) and
 *    take each transaction's commit → seen on the topic and commit → applied in the target.
 */
export interface CompareSizes {
  warmUpTransactions: number;
  backlogTransactions: number;
  changesPerSecond: number;
  latencyWarmUpSeconds: number;
  latencySeconds: number;
  /** Deadline of each wait, ms. */
  timeoutMs: number;
}

/** Raw figures of one repetition (kept in the JSON as measured). */
export interface RunFigures {
  system: string;
  repetition: number;
  backlogChanges: number;
  /** Start of the processes → first backlog event seen on the topic, s. */
  startToFirstEventS: number;
  /** Backlog events / (last seen − first seen). */
  kafkaEventsPerS: number;
  /** Backlog changes / (marker applied − first event seen). */
  e2eRowsPerS: number;
  /** Backlog changes / (marker applied − processes started): start included. */
  e2eRowsPerSWithStart: number;
  /** CPU seconds of the system's processes from the first event seen to the marker applied, per 100,000 changes. */
  cpuSecondsPer100k: number;
  /** CPU seconds of the system's processes from their start to the first event seen. */
  startCpuSeconds: number;
  /** Sum over its processes of their peak RSS during the repetition, MB. */
  peakRssMb: number;
  /** Key + value bytes per change event on the topic. */
  bytesPerEvent: number;
  /** Events beyond the changes written (duplicates a read_committed consumer saw). */
  extraEvents: number;
  latencyChangesPerS: number;
  kafkaP50Ms: number;
  kafkaP99Ms: number;
  e2eP50Ms: number;
  e2eP99Ms: number;
  latencySamples: number;
  /** Paced changes whose application the target's apply log never showed (excluded from the e2e percentiles). */
  e2eUnobserved: number;
}

const writerCount = 4;

export async function runOnce(system: CaptureSystem, repetition: number, sizes: CompareSizes, log: (line: string) => void): Promise<RunFigures> {
  const writers = await Promise.all(Array.from({ length: writerCount }, (_, index) => AuthWriter.open(system.internalUrl, system.tenancyId, `r${repetition}w${index}`, 1_000 * repetition + index)));
  let watcher: TopicWatcher | undefined;
  let sampler: CpuSampler | undefined;
  try {
    const waitApplied = async (label: string, what: string) =>
      waitFor(what, async () => (await system.appliedSignUpRows(label)) === 2, { timeoutMs: sizes.timeoutMs, intervalMs: 20 });

    // 1. Warm-up.
    await system.start(() => undefined);
    const warmUpChanges = await writeBacklog(writers, sizes.warmUpTransactions);
    const warmUpMarker = await writers[0]!.write('sign-up');
    await waitApplied(warmUpMarker, `${system.name}: the warm-up in the external database`);
    watcher = await TopicWatcher.start(system.brokers, system.topics());
    const warmUpEvents = warmUpChanges + 2;
    await waitFor(`${system.name}: the watcher to read the warm-up (${warmUpEvents} events)`, async () => watcher!.events >= warmUpEvents, { timeoutMs: sizes.timeoutMs, intervalMs: 20 });
    await system.stop();
    if (watcher.events !== warmUpEvents) log(`  ${system.name}: the watcher read ${watcher.events} warm-up events, ${warmUpEvents} changes were written`);
    log(`  ${system.name}: warm-up of ${warmUpEvents} changes done; writing the backlog while it is stopped`);

    // 2. Backlog written while stopped, then timed from the start.
    const backlogChanges = (await writeBacklog(writers, sizes.backlogTransactions)) + 2;
    const backlogMarker = await writers[0]!.write('sign-up');
    watcher.markBaseline();
    const pids: number[] = [];
    sampler = new CpuSampler(() => pids);
    sampler.start();
    const startedAt = performance.now();
    await system.start((pid) => pids.push(pid));
    await waitFor(`${system.name}: ${backlogChanges} backlog events on the topic`, async () => watcher!.eventsSinceBaseline >= backlogChanges, { timeoutMs: sizes.timeoutMs, intervalMs: 10 });
    await waitApplied(backlogMarker, `${system.name}: the backlog in the external database`);
    const backlogAppliedAt = performance.now();
    await sampler.sample();
    const firstEventAt = watcher.firstEventAt!;
    const lastEventAt = watcher.lastEventAt!;
    const startCpuSeconds = sampler.at(firstEventAt);
    const processingCpuSeconds = sampler.at(backlogAppliedAt) - startCpuSeconds;
    const extraEvents = watcher.eventsSinceBaseline - backlogChanges;
    log(`  ${system.name}: backlog of ${backlogChanges} changes on the topic after ${((lastEventAt - startedAt) / 1000).toFixed(1)} s, applied after ${((backlogAppliedAt - startedAt) / 1000).toFixed(1)} s`);

    // 3. Latency at a fixed rate.
    await system.installApplyLog();
    watcher.labelling = true;
    await writePaced(writers, sizes.changesPerSecond, sizes.latencyWarmUpSeconds);
    const changesBefore = writers.reduce((sum, writer) => sum + writer.changes, 0);
    const pacedFrom = performance.now();
    const committedAt = await writePaced(writers, sizes.changesPerSecond, sizes.latencySeconds);
    const achievedChangesPerS = (writers.reduce((sum, writer) => sum + writer.changes, 0) - changesBefore) / ((performance.now() - pacedFrom) / 1000);
    const labels = [...committedAt.keys()];
    await waitFor(`${system.name}: every paced change on the topic`, async () => labels.every((label) => watcher!.seen.has(label)), { timeoutMs: sizes.timeoutMs, intervalMs: 50 });
    const writerOf = (label: string) => writers.find((writer) => writer.userOfLabel.has(label))!;
    const appliedAt = new Map<string, number>();
    let applied = new Map<string, number>();
    // A change whose row was overtaken in the same sink batch by a delete of a user created in that
    // batch leaves no trace in the target; such changes are counted, not waited for forever.
    await waitFor(
      `${system.name}: every paced change in the external database`,
      async () => {
        applied = await system.readApplyLog();
        for (const label of labels) {
          const at = writerOf(label).appliedAt(label, applied);
          if (at !== undefined) appliedAt.set(label, at);
        }
        return appliedAt.size === labels.length;
      },
      { timeoutMs: Math.min(sizes.timeoutMs, 30_000), intervalMs: 200 },
    ).catch(() => undefined);
    const unobserved = labels.filter((label) => !appliedAt.has(label));
    if (unobserved.length > 0) {
      const sample = unobserved.slice(0, 3).map((label) => `${label} (its user's changes: ${writerOf(label).labelsOfUser.get(writerOf(label).userOfLabel.get(label)!)!.join(' ')})`);
      log(`  ${system.name}: ${unobserved.length} of ${labels.length} paced changes not observed in the target (apply log has ${applied.size} labels), e.g. ${sample.join('; ')}`);
    }
    const observed = labels.filter((label) => appliedAt.has(label));
    const kafkaLatencies = labels.map((label) => watcher!.seen.get(label)! - committedAt.get(label)!).sort((a, b) => a - b);
    const e2eLatencies = observed.map((label) => appliedAt.get(label)! - committedAt.get(label)!).sort((a, b) => a - b);
    const peakRss = await peakRssMb(system.pids());
    return {
      system: system.name,
      repetition,
      backlogChanges,
      startToFirstEventS: (firstEventAt - startedAt) / 1000,
      kafkaEventsPerS: backlogChanges / ((lastEventAt - firstEventAt) / 1000),
      e2eRowsPerS: backlogChanges / ((backlogAppliedAt - firstEventAt) / 1000),
      e2eRowsPerSWithStart: backlogChanges / ((backlogAppliedAt - startedAt) / 1000),
      cpuSecondsPer100k: (processingCpuSeconds / backlogChanges) * 100_000,
      startCpuSeconds,
      peakRssMb: peakRss,
      bytesPerEvent: watcher.bytes / watcher.events,
      extraEvents,
      latencyChangesPerS: achievedChangesPerS,
      kafkaP50Ms: percentile(kafkaLatencies, 50),
      kafkaP99Ms: percentile(kafkaLatencies, 99),
      e2eP50Ms: percentile(e2eLatencies, 50),
      e2eP99Ms: percentile(e2eLatencies, 99),
      latencySamples: labels.length,
      e2eUnobserved: unobserved.length,
    };
  } catch (error: unknown) {
    // While the processes still run: what they said is the diagnosis.
    throw new Error(`${error instanceof Error ? error.message : String(error)}\n${await system.diagnostics().catch(() => '')}`);
  } finally {
    sampler?.stop();
    await watcher?.stop().catch(() => undefined);
    await system.stop().catch(() => undefined);
    for (const writer of writers) await writer.close().catch(() => undefined);
  }
}
