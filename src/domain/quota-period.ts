import type { QuotaPeriod } from './entities.ts';

/** Calendar-aligned quota periods in UTC: a day starts at 00:00Z, a month on the 1st at 00:00Z. */
export interface PeriodWindow {
  /** Stable name of the period, e.g. `2026-11-29` or `2026-11`. */
  id: string;
  start: number;
  end: number;
}

export function periodWindow(period: QuotaPeriod, now: number): PeriodWindow {
  const d = new Date(now);
  const y = d.getUTCFullYear();
  const m = d.getUTCMonth();
  if (period === 'day') {
    const start = Date.UTC(y, m, d.getUTCDate());
    return { id: new Date(start).toISOString().slice(0, 10), start, end: start + 86_400_000 };
  }
  const start = Date.UTC(y, m, 1);
  return { id: new Date(start).toISOString().slice(0, 7), start, end: Date.UTC(y, m + 1, 1) };
}
