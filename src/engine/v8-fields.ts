/**
 * V8 tracks each object field as "const" until a second, different value is stored into it, and
 * optimised code may embed a const field's value. The first change then deoptimises every piece
 * of optimised code that read it, and V8 compiles it again (issue 15: the engine's allocation
 * path is compiled while the program's first events arrive; a run of churn paid ~25 TurboFan
 * compiles, several of them repeats after a field such as the index's `runOn`, the hash's
 * `table` or the run's `keys` changed for the first time after thousands of events).
 *
 * `mutableFields(o, names)` stores a different value of the same kind into each named field and
 * then the original back, at construction, so that the fields are mutable from the start. The
 * kind is kept (a small integer stays a small integer, a typed array a typed array of its class,
 * a boolean a boolean), so the field's representation is not widened. It costs the first
 * instance of a class a map update per field, later instances nothing.
 */
export function mutableFields(o: object, names: readonly string[]): void {
  const fields = o as Record<string, unknown>;
  for (const name of names) {
    const v = fields[name];
    fields[name] = otherOfKind(v);
    fields[name] = v;
  }
}

function otherOfKind(v: unknown): unknown {
  if (typeof v === 'number') return v === 0 ? 1 : 0;
  if (typeof v === 'boolean') return !v;
  if (ArrayBuffer.isView(v)) return new (v.constructor as new (n: number) => unknown)(0);
  throw new Error(`mutableFields: a field of kind ${typeof v}`);
}
