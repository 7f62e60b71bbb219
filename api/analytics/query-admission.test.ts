import { describe, expect, it } from 'vitest';
import { AnalyticsQueryRunner } from './query-runner';

describe('AnalyticsQueryRunner.admit', () => {
  // Four slow queries of one project held the whole pool and every other project timed out.
  it('lets a project run one query at a time, and others alongside it', () => {
    const runner = new AnalyticsQueryRunner('postgres://unused@127.0.0.1:1/unused');
    const first = runner.admit('tenancy-a');
    expect(first).toBeDefined();
    expect(runner.admit('tenancy-a')).toBeUndefined();
    const other = runner.admit('tenancy-b');
    expect(other).toBeDefined();
    first!();
    first!();
    const again = runner.admit('tenancy-a');
    expect(again).toBeDefined();
    expect(runner.admit('tenancy-a')).toBeUndefined();
    again!();
    other!();
  });
});
