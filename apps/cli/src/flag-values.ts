import { UsageError } from './usage-error.js';

/** Collects a repeatable flag's values in order. */
export function collect(value: string, previous: string[] = []): string[] {
  return [...previous, value];
}

/** Splits `KEY=VALUE`; `flag` names the flag in the error. */
export function splitKeyValue(text: string, flag: string): [string, string] {
  const eq = text.indexOf('=');
  if (eq <= 0) {
    throw new UsageError(`invalid ${flag} value "${text}"`, `write it as ${flag} KEY=VALUE`);
  }
  return [text.slice(0, eq), text.slice(eq + 1)];
}

/**
 * Parses `--build-arg` values. `KEY=VALUE` sets a value, and a bare `KEY` takes the value of the
 * environment variable KEY. As in `docker build`, a bare KEY that is unset in the environment is left out.
 */
export function parseBuildArgs(values: string[], env: NodeJS.ProcessEnv): Record<string, string> {
  const args: Record<string, string> = {};
  for (const value of values) {
    if (value.includes('=')) {
      const [key, val] = splitKeyValue(value, '--build-arg');
      args[key] = val;
    } else if (value === '') {
      throw new UsageError(
        'empty --build-arg value',
        'write it as --build-arg KEY=VALUE or --build-arg KEY',
      );
    } else if (env[value] !== undefined) {
      args[value] = env[value] as string;
    }
  }
  return args;
}

export function parseLabels(values: string[]): Record<string, string> {
  return Object.fromEntries(values.map((value) => splitKeyValue(value, '--label')));
}

/**
 * Parses `--registry-map FROM=TO` values and the `KILN_REGISTRY_MAP` variable (`FROM=TO;FROM=TO`).
 * Several targets for one registry are kept in order and tried in that order; the variable's come first.
 */
export function parseRegistryMap(
  values: string[],
  envValue: string | undefined,
): Record<string, string[]> {
  const fromEnv = (envValue ?? '').split(';').filter((part) => part.trim() !== '');
  const map: Record<string, string[]> = {};
  for (const value of [...fromEnv, ...values]) {
    const [from, to] = splitKeyValue(value.trim(), '--registry-map');
    const hosts = to.split(',').filter((host) => host.trim() !== '');
    if (hosts.length === 0) {
      throw new UsageError(
        `invalid --registry-map value "${value}": no target registry after "="`,
        'write it as --registry-map FROM=TO, for example docker.io=127.0.0.1:5000',
      );
    }
    for (const host of hosts) (map[from] ??= []).push(host);
  }
  return map;
}

/** Parses `--secret id=ID,src=FILE` and `--secret id=ID,env=VARIABLE` values, as `docker build` takes them. */
export function parseSecrets(values: string[]): Record<string, { src: string } | { env: string }> {
  const secrets: Record<string, { src: string } | { env: string }> = {};
  for (const value of values) {
    const fields = Object.fromEntries(
      value.split(',').map((part) => splitKeyValue(part.trim(), '--secret')),
    );
    const id = fields.id;
    const src = fields.src ?? fields.source;
    if (!id || (src === undefined) === (fields.env === undefined)) {
      throw new UsageError(
        `invalid --secret value "${value}"`,
        'write it as --secret id=ID,src=FILE or --secret id=ID,env=VARIABLE',
      );
    }
    secrets[id] = src === undefined ? { env: fields.env as string } : { src };
  }
  return secrets;
}

/** Parses a non-negative integer flag value such as a retry count; undefined stays undefined. */
export function parseCount(value: string | undefined, flag: string): number | undefined {
  if (value === undefined) return undefined;
  const count = Number(value);
  if (value.trim() === '' || !Number.isInteger(count) || count < 0) {
    throw new UsageError(`invalid ${flag} value "${value}"`, `give a whole number of 0 or more`);
  }
  return count;
}

/**
 * Rewrites kaniko-style `--flag=true` and `--flag=false` for the boolean flags in `options`,
 * which commander does not accept. `=true` becomes `--flag`. `=false` becomes the opposite
 * flag (`--no-flag`, or `--flag` for `--no-flag`) when it exists and is dropped otherwise,
 * which leaves the flag at its default. Any other value raises a {@link UsageError}.
 */
export function normalizeBooleanFlags(
  argv: string[],
  options: ReadonlyArray<{ long?: string | undefined; required: boolean; optional: boolean }>,
): string[] {
  const booleans = new Set(
    options.filter((o) => !o.required && !o.optional && o.long).map((o) => o.long as string),
  );
  const out: string[] = [];
  for (const [index, arg] of argv.entries()) {
    if (arg === '--') return [...out, ...argv.slice(index)];
    const match = /^(--[a-z0-9-]+)=(.*)$/i.exec(arg);
    const name = match?.[1];
    if (!match || name === undefined || !booleans.has(name)) {
      out.push(arg);
      continue;
    }
    const value = (match[2] as string).toLowerCase();
    if (value !== 'true' && value !== 'false') {
      throw new UsageError(
        `invalid ${name} value "${match[2] as string}"`,
        `give ${name}=true or ${name}=false, or ${name} alone for true`,
      );
    }
    if (value === 'true') {
      out.push(name);
      continue;
    }
    const opposite = name.startsWith('--no-') ? `--${name.slice(5)}` : `--no-${name.slice(2)}`;
    if (booleans.has(opposite)) out.push(opposite);
  }
  return out;
}
