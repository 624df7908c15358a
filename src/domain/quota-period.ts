import type { QuotaPeriod } from './entities.ts';

/** Calendar-aligned quota periods in UTC: a day starts at 00:00Z, a month on the 1st at 00:00Z. */
export interface PeriodWindow {
  /** Stable name of the period, e.g. `2026-11-29` or `2026-11`. */
  id: string;
  start: number;
  end: number;
}

// The window is asked for on every request; it changes once a day or a month, so remember the last.
const lastWindow: Record<QuotaPeriod, PeriodWindow> = {
  day: { id: '', start: 0, end: 0 },
  month: { id: '', start: 0, end: 0 },
};

export function periodWindow(period: QuotaPeriod, now: number): PeriodWindow {
  const last = lastWindow[period];
  if (now >= last.start && now < last.end) return last;
  const window = computeWindow(period, now);
  lastWindow[period] = window;
  return window;
}

function computeWindow(period: QuotaPeriod, now: number): PeriodWindow {
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
