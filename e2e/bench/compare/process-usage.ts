import { execFileSync } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { processMemoryMb } from '../../harness/process-memory';

/** Clock ticks per second of /proc's CPU times (100 on Linux x86-64, read once). */
const ticksPerSecond = Number(execFileSync('getconf', ['CLK_TCK']).toString().trim()) || 100;

/** User + system CPU seconds a process has used so far, from /proc/<pid>/stat (fields 14 and 15). */
export async function cpuSeconds(pid: number): Promise<number> {
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
  // The command name (field 2) may hold spaces: count fields after its closing parenthesis.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / ticksPerSecond;
}

/**
 * Samples the CPU seconds of a system's processes every `intervalMs`, so a phase's cost is the
 * difference between two instants found afterwards (first event seen, last row applied).
 */
export class CpuSampler {
  readonly samples: { at: number; cpuSeconds: number }[] = [];
  #timer: NodeJS.Timeout | undefined;

  constructor(private readonly pids: () => readonly number[]) {}

  async sample(): Promise<number> {
    let total = 0;
    for (const pid of this.pids()) total += await cpuSeconds(pid).catch(() => 0);
    this.samples.push({ at: performance.now(), cpuSeconds: total });
    return total;
  }

  start(intervalMs = 50): void {
    this.#timer = setInterval(() => void this.sample(), intervalMs);
  }

  stop(): void {
    clearInterval(this.#timer);
  }

  /** CPU seconds at the last sample taken at or before `at` (performance.now()). */
  at(at: number): number {
    let found = this.samples[0]?.cpuSeconds ?? 0;
    for (const sample of this.samples) if (sample.at <= at) found = sample.cpuSeconds;
    return found;
  }
}

/** Sum of the processes' peak resident memory (VmHWM), in MB. */
export async function peakRssMb(pids: readonly number[]): Promise<number> {
  let total = 0;
  for (const pid of pids) total += await processMemoryMb(pid, 'VmHWM');
  return total;
}
