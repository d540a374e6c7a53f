// Names in a Dockerfile are user input, so a name such as `__proto__` or `constructor` must
// never reach Object.prototype through a plain object lookup or assignment.

/** Returns `record[key]` only when it is the record's own property. */
export function ownValue<T>(
  record: Readonly<Record<string, T>> | undefined,
  key: string,
): T | undefined {
  return record !== undefined && Object.hasOwn(record, key) ? record[key] : undefined;
}

/** Creates an object without a prototype, safe to assign any key to, filled from `sources`. */
export function dictionary<T>(
  ...sources: ReadonlyArray<Readonly<Record<string, T>> | undefined>
): Record<string, T> {
  const result = Object.create(null) as Record<string, T>;
  for (const source of sources) if (source !== undefined) Object.assign(result, source);
  return result;
}
