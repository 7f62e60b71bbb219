import { report, runBench } from './bench-setup';
import { runSoak } from './soak';

/**
 * `npm run bench:soak`: the mixed workload for SOAK_MINUTES (default 30) through the cdc and sink
 * processes, sampling their memory and event-loop lag every 10 s; prints each process's RSS
 * start/end/max and its slope after warm-up. A slope that stays positive over a long run is a leak.
 */
runBench(async () => {
  const figures = await runSoak({ durationSeconds: Math.round(Number(process.env.SOAK_MINUTES ?? 30) * 60), sampleEveryMs: 10_000 });
  const flat: Record<string, number> = { duration_s: figures.duration_s, transactions_committed: figures.transactions_committed, transactions_rolled_back: figures.transactions_rolled_back, converged_after_ms: figures.converged_after_ms };
  for (const part of ['cdc', 'sink'] as const) for (const [key, value] of Object.entries(figures[part])) flat[`${part}_${key}`] = value;
  report(flat);
});
