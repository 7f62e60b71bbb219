import { describe, expect, it } from 'vitest';
import { buildTriggerStats, statsWindowStart } from './trigger-stats';

const hour = 3_600_000;

describe('sign-up rule statistics', () => {
  const now = new Date('2026-03-10T15:42:10.000Z');
  const currentHour = Date.parse('2026-03-10T15:00:00.000Z');

  it('48 UTC hours, oldest first, ending with the current one; only rules that fired', () => {
    const stats = buildTriggerStats(
      [
        { ruleId: 'block', action: 'reject', outcome: 'matched', hourStartMs: currentHour, count: 2 },
        { ruleId: 'block', action: 'reject', outcome: 'matched', hourStartMs: currentHour - 47 * hour, count: 1 },
        { ruleId: 'watch', action: 'log', outcome: 'matched', hourStartMs: currentHour - 3 * hour, count: 5 },
        // Outside the window: ignored.
        { ruleId: 'old', action: 'allow', outcome: 'matched', hourStartMs: currentHour - 48 * hour, count: 9 },
        { ruleId: 'broken', action: 'restrict', outcome: 'error', hourStartMs: currentHour, count: 4 },
      ],
      now,
    );
    expect(statsWindowStart(now).toISOString()).toBe('2026-03-08T16:00:00.000Z');
    expect(stats.total_triggers).toBe(8);
    expect(stats.triggers_by_action).toEqual({ allow: 0, reject: 3, restrict: 0, log: 5 });
    expect(stats.rule_triggers.map((rule) => [rule.rule_id, rule.total_count])).toEqual([
      ['watch', 5],
      ['block', 3],
    ]);
    const block = stats.rule_triggers.find((rule) => rule.rule_id === 'block')!;
    expect(block.hourly_counts).toHaveLength(48);
    expect(block.hourly_counts[0]).toEqual({ hour: '2026-03-08T16:00:00.000Z', count: 1 });
    expect(block.hourly_counts[47]).toEqual({ hour: '2026-03-10T15:00:00.000Z', count: 2 });
    expect(block.hourly_counts.slice(1, 47).every((entry) => entry.count === 0)).toBe(true);
    expect(stats.evaluation_errors).toEqual([{ rule_id: 'broken', total_count: 4 }]);
  });

  it('nothing recorded: empty lists and zero counts', () => {
    expect(buildTriggerStats([], now)).toEqual({
      rule_triggers: [],
      total_triggers: 0,
      triggers_by_action: { allow: 0, reject: 0, restrict: 0, log: 0 },
      evaluation_errors: [],
    });
  });
});
