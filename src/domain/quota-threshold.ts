/**
 * Whether `used` requests have reached `percent` of a quota of `limit`: the count at which a
 * quota.threshold event is due (docs/webhooks.md). `used` is a whole number, so reaching the rounded-up
 * share is reaching the share.
 */
export const reachesPercent = (used: number, limit: number, percent: number): boolean => used >= Math.ceil((limit * percent) / 100);

/**
 * Whether a store answers a lineage's total for a batch (store/port.ts UsageBatch.totalsFromPercent):
 * always without a percent; with one, only for a lineage the batch gives a limit, once its use reached
 * that percent of it. The threshold check can act on no other total, and with many keys most are far
 * below: answering only these keeps a flush's reply, and the work it causes, small.
 */
export function totalWanted(fromPercent: number | undefined, limit: number | undefined, used: number): boolean {
  return fromPercent === undefined || (limit !== undefined && limit > 0 && reachesPercent(used, limit, fromPercent));
}

/** Whether totalWanted can hold for some use: if not, a store need not read the total back at all. */
export function mayWantTotal(fromPercent: number | undefined, limit: number | undefined): boolean {
  return fromPercent === undefined || (fromPercent !== Infinity && limit !== undefined && limit > 0);
}
