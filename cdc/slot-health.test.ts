import { describe, expect, it } from 'vitest';
import { slotCondition } from './slot-health';

describe('slotCondition', () => {
  it('maps wal_status to what an operator must do', () => {
    expect(slotCondition('reserved')).toBe('healthy');
    expect(slotCondition('extended')).toBe('healthy');
    expect(slotCondition('unreserved')).toBe('at_risk');
    expect(slotCondition('lost')).toBe('lost');
    expect(slotCondition(undefined)).toBe('missing');
    // A status this code does not know is never reported as healthy.
    expect(slotCondition('something-new')).toBe('lost');
    expect(slotCondition(null)).toBe('lost');
  });
});
