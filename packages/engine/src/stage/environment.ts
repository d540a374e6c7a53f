/** Splits `NAME=value` into its parts; an entry without `=` is a name with an empty value. */
export function splitEnvEntry(entry: string): [string, string] {
  const eq = entry.indexOf('=');
  return eq === -1 ? [entry, ''] : [entry.slice(0, eq), entry.slice(eq + 1)];
}

/** Sets `name` in a Docker Env list: replaced in place when present, appended otherwise. */
export function setEnv(env: readonly string[], name: string, value: string): string[] {
  const entry = `${name}=${value}`;
  const index = env.findIndex((existing) => splitEnvEntry(existing)[0] === name);
  if (index === -1) return [...env, entry];
  const updated = [...env];
  updated[index] = entry;
  return updated;
}

/** Turns a Docker Env list into a map; later entries win. */
export function envToMap(env: readonly string[]): Map<string, string> {
  return new Map(env.map(splitEnvEntry));
}

/**
 * Builds the environment of a RUN command as Docker does: the image's Env, plus the stage's ARG
 * values that no Env entry overrides. ARG values never go into the image config.
 */
export function runEnvironment(
  env: readonly string[],
  args: ReadonlyMap<string, string | undefined>,
): string[] {
  const names = new Set(env.map((entry) => splitEnvEntry(entry)[0]));
  const fromArgs: string[] = [];
  for (const [name, value] of args)
    if (value !== undefined && !names.has(name)) fromArgs.push(`${name}=${value}`);
  return [...env, ...fromArgs];
}

/** Variables visible to expansion in Dockerfile words: ARG values, overridden by ENV values. */
export function expansionEnvironment(
  env: readonly string[],
  args: ReadonlyMap<string, string | undefined>,
): Map<string, string> {
  const result = new Map<string, string>();
  for (const [name, value] of args) if (value !== undefined) result.set(name, value);
  for (const [name, value] of envToMap(env)) result.set(name, value);
  return result;
}
