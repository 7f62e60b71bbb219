import { readFile } from 'node:fs/promises';

/** A process's resident memory from /proc, in MB: `VmRSS` now, or `VmHWM`, its peak so far. */
export async function processMemoryMb(pid: number, field: 'VmRSS' | 'VmHWM' = 'VmHWM'): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  const kb = Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? Number.NaN);
  return kb / 1024;
}
