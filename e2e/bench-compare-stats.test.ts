import { describe, expect, it } from 'vitest';
import { advantage, formatFigure, markdownTable, median, percentile, textTable } from './bench/compare/stats';

describe('bench:compare figures', () => {
  it.each([
    [[], Number.NaN],
    [[5], 5],
    [[3, 1, 2], 2],
    [[4, 1, 3, 2], 2.5],
    [[1, Number.NaN, 3], 2],
  ])('median of %j is %d', (values, expected) => {
    expect(median(values)).toBe(expected);
  });

  it('takes the nearest-rank percentile', () => {
    const sorted = Array.from({ length: 100 }, (_, index) => index + 1);
    expect(percentile(sorted, 50)).toBe(50);
    expect(percentile(sorted, 99)).toBe(99);
    expect(percentile(sorted, 100)).toBe(100);
    expect(percentile([7], 99)).toBe(7);
    expect(percentile([], 50)).toBeNaN();
  });

  it.each([
    [20_000, 2_000, 'higher', 10],
    [10, 40, 'lower', 4],
    [0, 40, 'lower', Number.NaN],
    [10, Number.NaN, 'higher', Number.NaN],
  ] as const)('advantage(%d, %d, %s) is %d', (ours, theirs, better, expected) => {
    expect(advantage(ours, theirs, better)).toBe(expected);
  });

  it('formats figures and tables', () => {
    expect(formatFigure(12345.678)).toBe('12,346');
    expect(formatFigure(1.234, 1)).toBe('1.2');
    expect(formatFigure(Number.NaN)).toBe('–');
    expect(textTable(['figure', 'a'], [['x', '1'], ['longer', '100']])).toBe('figure    a\n------  ---\nx         1\nlonger  100');
    expect(markdownTable(['figure', 'a'], [['x', '1']])).toBe('| figure | a |\n| --- | ---: |\n| x | 1 |');
  });
});
