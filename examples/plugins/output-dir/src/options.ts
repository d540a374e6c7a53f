import { isAbsolute, resolve } from 'node:path';
import { OutputDirError } from './errors.js';

/** Settings of the directory output, from `--output type=dir,dest=PATH[,overwrite=true]`. */
export interface OutputDirOptions {
  /** Absolute path of the directory to create with the image's root filesystem. */
  dest: string;
  /** Replace a non-empty destination instead of failing. Default false. */
  overwrite: boolean;
  /** Apply the uid and gid of files; default: when running as root, as `applyLayer` does. */
  preserveOwnership?: boolean;
}

const KNOWN = new Set(['dest', 'overwrite', 'ownership']);

function booleanOption(name: string, value: string): boolean {
  if (value === 'true') return true;
  if (value === 'false') return false;
  throw new OutputDirError('INVALID_OPTIONS', `invalid dir output option ${name}=${value}`, {
    hint: `Set ${name} to true or false.`,
  });
}

/** Parses the key=value options of the output; a relative `dest` is resolved from `cwd`. */
export function parseOutputDirOptions(
  options: Readonly<Record<string, string>>,
  cwd = process.cwd(),
): OutputDirOptions {
  for (const name of Object.keys(options)) {
    if (!KNOWN.has(name)) {
      throw new OutputDirError('INVALID_OPTIONS', `unknown dir output option ${name}`, {
        hint: 'The dir output takes dest=PATH, overwrite=true|false and ownership=true|false.',
      });
    }
  }
  const dest = options.dest;
  if (dest === undefined || dest === '') {
    throw new OutputDirError('INVALID_OPTIONS', 'the dir output needs a destination', {
      hint: 'Add dest=PATH, as in --output type=dir,dest=./rootfs.',
    });
  }
  const parsed: OutputDirOptions = {
    dest: isAbsolute(dest) ? dest : resolve(cwd, dest),
    overwrite:
      options.overwrite === undefined ? false : booleanOption('overwrite', options.overwrite),
  };
  if (options.ownership !== undefined)
    parsed.preserveOwnership = booleanOption('ownership', options.ownership);
  return parsed;
}
