/**
 * The end of a billing period that starts at `start` (pure, UTC): one calendar month or year later,
 * clamped to the last day of a shorter month (Jan 31 + 1 month = Feb 28/29), as card processors bill.
 */
export function periodEnd(start: Date, interval: 'month' | 'year'): Date {
  const months = interval === 'month' ? 1 : 12;
  const year = start.getUTCFullYear();
  const month = start.getUTCMonth() + months;
  const lastDay = new Date(Date.UTC(year, month + 1, 0)).getUTCDate();
  const end = new Date(start);
  end.setUTCDate(1);
  end.setUTCFullYear(year, month, Math.min(start.getUTCDate(), lastDay));
  return end;
}
