/**
 * Pure helpers of `npm run bench:compare`: medians over repetitions, ratios between systems and
 * the printed table. No I/O, so they are unit-tested (e2e/bench-compare-stats.test.ts).
 */

/** The nearest-rank percentile (`p` in 0…100) of ascending `sorted`; NaN when empty. */
export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!;
}

/** The median of the finite values (the mean of the middle two for an even count); NaN when none. */
export function median(values: readonly number[]): number {
  const sorted = values.filter(Number.isFinite).sort((a, b) => a - b);
  if (sorted.length === 0) return Number.NaN;
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}

/**
 * How many times better `ours` is than `theirs`: `ours / theirs` where more is better
 * (throughput), `theirs / ours` where less is better (latency, CPU, memory, bytes). NaN when
 * either is not a positive number.
 */
export function advantage(ours: number, theirs: number, better: 'higher' | 'lower'): number {
  if (!(ours > 0) || !(theirs > 0)) return Number.NaN;
  return better === 'higher' ? ours / theirs : theirs / ours;
}

/** A figure as printed: thousands separated, at most `digits` decimals, '–' for a missing one. */
export function formatFigure(value: number, digits = 0): string {
  if (!Number.isFinite(value)) return '–';
  return value.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: 0 });
}

/** A plain-text table with right-aligned figure columns (the first column is left-aligned). */
export function textTable(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = header.map((title, column) => Math.max(title.length, ...rows.map((row) => (row[column] ?? '').length)));
  const line = (cells: readonly string[]) => cells.map((cell, column) => (column === 0 ? cell.padEnd(widths[column]!) : cell.padStart(widths[column]!))).join('  ');
  return [line(header), widths.map((width) => '-'.repeat(width)).join('  '), ...rows.map(line)].join('\n');
}

/** The same table in Markdown, for the README. */
export function markdownTable(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const line = (cells: readonly string[]) => `| ${cells.join(' | ')} |`;
  return [line(header), line(header.map((_, column) => (column === 0 ? '---' : '---:'))), ...rows.map(line)].join('\n');
}
