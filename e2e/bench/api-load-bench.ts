import { runApiLoad } from './api-load';
import { report, runBench } from './bench-setup';

/**
 * `npm run bench:api-load`: 60 s (BENCH_SECONDS) of sign-ups (5 %), profile updates (25 %) and reads
 * against a real listening API with the pipeline running, production password hashing; then the
 * tenant's external database must equal the oracle. Figures, not gates; fails only if any request
 * got a 5xx or the database did not converge.
 */
runBench(async () => {
  const { figures, differences } = await runApiLoad({
    durationSeconds: Number(process.env.BENCH_SECONDS ?? 60),
    connections: Number(process.env.BENCH_CONNECTIONS ?? 16),
    passwordHashLogN: Number(process.env.BENCH_PASSWORD_HASH_LOG_N ?? 15),
    signUpShare: 0.05,
    updateShare: 0.25,
    convergeTimeoutMs: 120_000,
  });
  report({ ...figures });
  if (figures.status_5xx > 0 || figures.errors > 0) throw new Error(`${figures.status_5xx} responses were 5xx, ${figures.errors} requests failed`);
  if (differences.length > 0) throw new Error(differences.join('\n'));
});
