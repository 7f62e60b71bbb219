import { describe, expect, it } from 'vitest';
import { runApiLoad } from './bench/api-load';

describe('the API under load with the pipeline running', () => {
  // The short version of `npm run bench:api-load`: no timing assertion (the figures depend on the
  // machine), but no request may fail with a 5xx and every signed-up user must arrive.
  it('serves 8 s of sign-ups, updates and reads without a 5xx, and the external database then equals the oracle', { timeout: 180_000 }, async () => {
    const { figures, differences } = await runApiLoad({ durationSeconds: 8, connections: 8, passwordHashLogN: 12, signUpShare: 0.1, updateShare: 0.3, convergeTimeoutMs: 60_000 });
    console.log(JSON.stringify(figures));
    expect(figures.requests).toBeGreaterThan(100);
    expect(figures.sign_ups_accepted).toBeGreaterThan(0);
    expect({ status_5xx: figures.status_5xx, errors: figures.errors, timeouts: figures.timeouts }).toEqual({ status_5xx: 0, errors: 0, timeouts: 0 });
    expect(figures.status_2xx).toBe(figures.requests);
    expect(differences).toEqual([]);
  });
});
