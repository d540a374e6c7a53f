import { DockerfileParseError } from '../errors.js';
import { ownValue } from '../own.js';

type FlagKind = 'string' | 'bool' | 'strings';

/** The flags one instruction accepts, and what each takes. */
export type FlagSpec = Readonly<Record<string, FlagKind>>;

export interface ParsedFlags {
  strings: ReadonlyMap<string, string>;
  bools: ReadonlyMap<string, boolean>;
  lists: ReadonlyMap<string, string[]>;
}

const NO_FLAGS: ParsedFlags = { strings: new Map(), bools: new Map(), lists: new Map() };

function flagError(message: string, hint: string): DockerfileParseError {
  return new DockerfileParseError(message, { code: 'INVALID_FLAG', hint });
}

function describeFlags(spec: FlagSpec): string {
  const known = Object.keys(spec);
  if (known.length === 0) return 'takes no flags';
  return `accepts ${known.map((name) => `--${name}`).join(', ')}`;
}

/**
 * Validates raw `--name[=value]` words against the flags an instruction declares: unknown and
 * repeated flags, missing values and non-boolean values for boolean flags are errors.
 */
export function parseFlags(
  instruction: string,
  words: readonly string[],
  spec: FlagSpec,
): ParsedFlags {
  // Most instructions have no flags, so they share one empty result, which is never written to.
  if (words.length === 0) return NO_FLAGS;
  const parsed = {
    strings: new Map<string, string>(),
    bools: new Map<string, boolean>(),
    lists: new Map<string, string[]>(),
  };
  for (const word of words) {
    if (!word.startsWith('--')) {
      throw flagError(
        `invalid flag ${JSON.stringify(word)} on ${instruction}`,
        `Flags are written --name or --name=value.`,
      );
    }
    const body = word.slice(2);
    const equals = body.indexOf('=');
    const name = equals < 0 ? body : body.slice(0, equals);
    const value = equals < 0 ? undefined : body.slice(equals + 1);
    const kind = ownValue(spec, name);
    if (kind === undefined) {
      throw flagError(
        `unknown flag: --${name} on ${instruction}`,
        `${instruction} ${describeFlags(spec)}.`,
      );
    }

    if (kind === 'bool') {
      if (parsed.bools.has(name)) {
        throw flagError(`duplicate flag specified: --${name}`, `Give --${name} once.`);
      }
      const normalized = value?.toLowerCase();
      if (value !== undefined && normalized !== 'true' && normalized !== 'false') {
        throw flagError(
          `expecting boolean value for flag --${name}, not: ${value}`,
          `Write --${name}, --${name}=true or --${name}=false.`,
        );
      }
      parsed.bools.set(name, normalized !== 'false');
      continue;
    }

    if (value === undefined) {
      throw flagError(`missing a value on flag: --${name}`, `Write --${name}=VALUE.`);
    }
    if (kind === 'strings') {
      parsed.lists.set(name, [...(parsed.lists.get(name) ?? []), value]);
      continue;
    }
    if (parsed.strings.has(name))
      throw flagError(`duplicate flag specified: --${name}`, `Give --${name} once.`);
    parsed.strings.set(name, value);
  }
  return parsed;
}
