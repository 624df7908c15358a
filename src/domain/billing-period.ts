/**
 * Calendar billing periods (a day or a month) in an IANA time zone, as spans of whole UTC hours.
 * Billing sums the hour rollups (stored by UTC hour), so a period must begin and end on a UTC hour:
 * that holds exactly when the zone's offset from UTC is a whole number of hours at every instant
 * (its transitions then fall on whole hours too). Zones with a :30 or :45 offset (Asia/Kolkata,
 * Asia/Kathmandu, America/St_Johns, Australia/Lord_Howe's half-hour daylight saving) are refused.
 */

export type BillingPeriodKind = 'day' | 'month';

export interface BillingPeriod {
  kind: BillingPeriodKind;
  /** The period's local calendar name: `2026-11-29` or `2026-11`. */
  label: string;
  /** Epoch ms: the first instant of the period, and the first instant after it. */
  start: number;
  end: number;
}

const HOUR_MS = 3_600_000;
const DAY_MS = 86_400_000;
/** From 2000 to 2100, a sample a week: every offset a zone uses for longer than a week in that span is seen. */
const CHECK_FROM = Date.UTC(2000, 0, 1);
const CHECK_UNTIL = Date.UTC(2100, 0, 1);
const CHECK_STEP_MS = 7 * DAY_MS;

const formatters = new Map<string, Intl.DateTimeFormat>();

function formatter(zone: string): Intl.DateTimeFormat {
  let f = formatters.get(zone);
  if (!f) formatters.set(zone, (f = new Intl.DateTimeFormat('en-US', { timeZone: zone, timeZoneName: 'longOffset' })));
  return f;
}

/** The zone's offset from UTC at `at`, in minutes (east positive). */
export function offsetMinutes(zone: string, at: number): number {
  if (zone === 'UTC') return 0;
  const name = formatter(zone)
    .formatToParts(at)
    .find((p) => p.type === 'timeZoneName')!.value;
  const match = /^GMT(?:([+-])(\d{2}):(\d{2}))?$/.exec(name);
  if (!match) throw new Error(`unexpected offset ${name} for ${zone}`);
  if (match[1] === undefined) return 0;
  return (match[1] === '-' ? -1 : 1) * (Number(match[2]) * 60 + Number(match[3]));
}

/** Why a zone cannot be the billing time zone, or null when it can. */
export function billingTimeZoneProblem(zone: string): string | null {
  if (zone === 'UTC') return null;
  try {
    formatter(zone);
  } catch {
    return `${zone} is not an IANA time zone`;
  }
  for (let at = CHECK_FROM; at < CHECK_UNTIL; at += CHECK_STEP_MS) {
    const offset = offsetMinutes(zone, at);
    if (offset % 60 !== 0) {
      const sign = offset < 0 ? '-' : '+';
      const abs = Math.abs(offset);
      const shown = `${sign}${String(Math.floor(abs / 60)).padStart(2, '0')}:${String(abs % 60).padStart(2, '0')}`;
      return `${zone} is ${shown} from UTC on ${new Date(at).toISOString().slice(0, 10)}: billing periods are sums of hour rollups kept by UTC hour, so the zone's offset must be a whole number of hours`;
    }
  }
  return null;
}

/** The first instant whose local date in `zone` is `y-m-d` or later (a UTC hour, in a whole-hour zone). */
function startOfLocalDay(zone: string, y: number, m: number, d: number): number {
  const target = Date.UTC(y, m - 1, d);
  if (zone === 'UTC') return target;
  // Offsets lie within -12 h..+14 h: local midnight is between 14 h before and 12 h after UTC midnight.
  // The first whole UTC hour whose local time has reached it is the start (a day that begins with a
  // daylight-saving gap begins at the transition).
  for (let at = target - 14 * HOUR_MS; at <= target + 13 * HOUR_MS; at += HOUR_MS) {
    if (at + offsetMinutes(zone, at) * 60_000 >= target) return at;
  }
  throw new Error(`no start found for ${y}-${m}-${d} in ${zone}`);
}

const pad = (n: number) => String(n).padStart(2, '0');

/** The period (day or month, local to `zone`) that holds the instant `at`. */
export function periodAt(zone: string, kind: BillingPeriodKind, at: number): BillingPeriod {
  const local = new Date(at + offsetMinutes(zone, at) * 60_000);
  const y = local.getUTCFullYear();
  const m = local.getUTCMonth() + 1;
  const d = local.getUTCDate();
  if (kind === 'day') {
    const next = new Date(Date.UTC(y, m - 1, d + 1));
    return {
      kind,
      label: `${y}-${pad(m)}-${pad(d)}`,
      start: startOfLocalDay(zone, y, m, d),
      end: startOfLocalDay(zone, next.getUTCFullYear(), next.getUTCMonth() + 1, next.getUTCDate()),
    };
  }
  const next = new Date(Date.UTC(y, m, 1));
  return { kind, label: `${y}-${pad(m)}`, start: startOfLocalDay(zone, y, m, 1), end: startOfLocalDay(zone, next.getUTCFullYear(), next.getUTCMonth() + 1, 1) };
}

/** Every period that overlaps [from, until), oldest first, each whole (not cut to the range). */
export function periodsOverlapping(zone: string, kind: BillingPeriodKind, from: number, until: number): BillingPeriod[] {
  const periods: BillingPeriod[] = [];
  for (let p = periodAt(zone, kind, from); p.start < until; p = periodAt(zone, kind, p.end)) periods.push(p);
  return periods;
}

/** An instant as RFC 3339 in the zone's local time with its offset (`2026-11-01T00:00:00+01:00`; `Z` for UTC). */
export function rfc3339InZone(zone: string, at: number): string {
  const offset = offsetMinutes(zone, at);
  const local = new Date(at + offset * 60_000).toISOString().slice(0, 19);
  if (zone === 'UTC') return `${local}Z`;
  const abs = Math.abs(offset);
  return `${local}${offset < 0 ? '-' : '+'}${pad(Math.floor(abs / 60))}:${pad(abs % 60)}`;
}
