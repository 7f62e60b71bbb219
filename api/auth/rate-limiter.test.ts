import { describe, expect, it } from 'vitest';
import { RateLimiter } from './rate-limiter';

describe('RateLimiter', () => {
  it('allows `limit` hits per window, then tells how long to wait, then allows again', () => {
    let now = 1_000_000;
    const limiter = new RateLimiter(() => now);
    for (let attempt = 0; attempt < 3; attempt++) {
      expect(limiter.retryAfterSeconds('k', 3)).toBe(0);
      limiter.hit('k', 60_000);
    }
    expect(limiter.retryAfterSeconds('k', 3)).toBe(60);
    now += 59_500;
    expect(limiter.retryAfterSeconds('k', 3)).toBe(1);
    now += 500;
    expect(limiter.retryAfterSeconds('k', 3)).toBe(0);
    expect(limiter.retryAfterSeconds('other', 3)).toBe(0);
  });

  it('forgets a key on reset', () => {
    const limiter = new RateLimiter(() => 0);
    limiter.hit('k', 1_000);
    expect(limiter.retryAfterSeconds('k', 1)).toBe(1);
    limiter.reset('k');
    expect(limiter.retryAfterSeconds('k', 1)).toBe(0);
  });
});
