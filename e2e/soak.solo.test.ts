import { describe, expect, it } from 'vitest';
import { runSoak, slope } from './bench/soak';

describe('soak', () => {
  it('fits a slope', () => {
    expect(slope([[0, 1], [1, 3], [2, 5]])).toBe(2);
    expect(slope([[0, 4], [1, 4]])).toBe(0);
  });

  // The 2-minute version of `npm run bench:soak`: too short to prove the absence of a leak, long
  // enough to catch a fast one (the figures are printed; the 30-minute run is in the README).
  it('2 minutes of the mixed workload: both processes stay up and bounded, and the external database equals the oracle', { timeout: 360_000 }, async () => {
    const figures = await runSoak({ durationSeconds: 120, sampleEveryMs: 2_000 });
    console.log(JSON.stringify(figures));
    expect(figures.transactions_committed).toBeGreaterThan(100);
    for (const part of ['cdc', 'sink'] as const) {
      expect(figures[part].rss_max_mb, part).toBeLessThan(400);
    }
  });
});
