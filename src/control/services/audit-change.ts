/**
 * What an audit entry records of a change, in the shape the admin API shows (seconds, ISO dates,
 * never a hash): the whole record when it is created or deleted; for an update, only the fields that
 * changed, before and after. `updatedAt` changes every time and says nothing.
 */
export function auditedChange<T>(
  view: (record: T) => Record<string, unknown>,
  before: T | null,
  after: T | null,
): { before: Record<string, unknown> | null; after: Record<string, unknown> | null } {
  if (before === null || after === null) return { before: before && view(before), after: after && view(after) };
  const was = view(before);
  const is = view(after);
  const changedBefore: Record<string, unknown> = {};
  const changedAfter: Record<string, unknown> = {};
  for (const name of new Set([...Object.keys(was), ...Object.keys(is)])) {
    if (name === 'updatedAt' || JSON.stringify(was[name]) === JSON.stringify(is[name])) continue;
    changedBefore[name] = was[name] ?? null;
    changedAfter[name] = is[name] ?? null;
  }
  return { before: changedBefore, after: changedAfter };
}
