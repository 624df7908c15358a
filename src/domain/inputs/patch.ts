import { z } from 'zod';

/**
 * The PATCH schema of a resource, derived from its create schema (RFC 7396 merge-patch): every
 * field optional and without its default, so a field the patch leaves out keeps its value instead of
 * being reset (a `.partial()` of fields with defaults would fill the defaults in). A nested object
 * merges member by member: its members are optional too, and `null` removes one that is optional or
 * has a default (the service re-parses the merged object with the create schema, which restores the
 * default), at the top level as inside (RFC 7396 §2: null removes the member). Arrays replace whole.
 */
export function patchSchemaOf<Shape extends z.ZodRawShape>(schema: z.ZodObject<Shape>) {
  const shape = Object.fromEntries(
    Object.entries(schema.shape).map(([name, field]) => {
      const f = field as z.ZodType;
      return [name, (removable(f) ? patchField(f).nullable() : patchField(f)).optional()];
    }),
  );
  return z.strictObject(shape) as unknown as z.ZodObject<{
    [K in keyof Shape]: z.ZodOptional<z.ZodType<PatchValue<z.output<Shape[K]>> | RemovedBy<Shape[K]>>>;
  }>;
}

/** A member that is optional or has a default may be removed with null (its default then applies). */
const removable = (field: z.ZodType): boolean => field instanceof z.ZodOptional || field instanceof z.ZodDefault || field instanceof z.ZodPrefault;
type RemovedBy<F> = F extends z.ZodOptional<z.ZodType> | z.ZodDefault<z.ZodType> | z.ZodPrefault<z.ZodType> ? null : never;

/** What a patch may carry for a field of type T: nested objects (not arrays, not nullable ones) member by member. */
type Defined<T> = Exclude<T, undefined>;
type PatchValue<T> = [Defined<T>] extends [readonly unknown[]]
  ? T
  : [Defined<T>] extends [object]
    ? { [K in keyof Defined<T>]?: PatchValue<Defined<T>[K]> | null }
    : T;

function patchField(field: z.ZodType): z.ZodType {
  const inner = unwrapDefaults(field);
  if (inner instanceof z.ZodObject) return nestedPatch(inner);
  if (inner instanceof z.ZodOptional && unwrapDefaults(inner.unwrap() as z.ZodType) instanceof z.ZodObject) {
    return nestedPatch(unwrapDefaults(inner.unwrap() as z.ZodType) as z.ZodObject);
  }
  return inner;
}

function nestedPatch(object: z.ZodObject): z.ZodType {
  const shape = Object.fromEntries(
    Object.entries(object.shape).map(([name, member]) => {
      const m = member as z.ZodType;
      const value = patchField(m instanceof z.ZodOptional ? (m.unwrap() as z.ZodType) : m);
      return [name, removable(m) ? value.nullable().optional() : value.optional()];
    }),
  );
  return z.strictObject(shape);
}

function unwrapDefaults(field: z.ZodType): z.ZodType {
  if (field instanceof z.ZodDefault || field instanceof z.ZodPrefault) return unwrapDefaults(field.unwrap() as z.ZodType);
  return field;
}
