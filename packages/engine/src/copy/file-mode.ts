import { EngineError } from '../errors.js';

/** A --chmod value: an octal mode, or a symbolic one applied to each source's own mode. */
export type ModeSpec = number | ((mode: number, isDirectory: boolean) => number);

/** Mode bits of each class a symbolic clause can name, special bits included. */
const WHO_BITS: Record<string, number> = { u: 0o4700, g: 0o2070, o: 0o1007, a: 0o7777 };
const PERM_BITS: Record<string, number> = { r: 0o444, w: 0o222, x: 0o111, s: 0o6000, t: 0o1000 };
const CLAUSE = /^([ugoa]*)((?:[-+=](?:[rwxXst]*|[ugo]))+)$/;

/**
 * Parses a --chmod value: octal (`0644`, up to 07777) or symbolic as chmod(1) writes it
 * (`u+x`, `go-w`, `a=rX,u+w`, `g=u`). A clause without a class applies to all classes.
 * NOTE: no umask limits a classless clause, unlike chmod(1), since a build has no user umask.
 */
export function parseChmod(text: string): ModeSpec {
  if (/^[0-7]+$/.test(text)) {
    const mode = Number.parseInt(text, 8);
    if (mode <= 0o7777) return mode;
  }
  const clauses = text.split(',').map((clause) => CLAUSE.exec(clause));
  if (text === '' || clauses.some((match) => match === null)) {
    throw new EngineError(
      'INVALID_OPTION',
      `--chmod=${text} is neither an octal nor a symbolic mode`,
      {
        hint: 'Write an octal mode such as 0644, or a symbolic one such as u+x,go-w.',
      },
    );
  }
  return (mode, isDirectory) => {
    let result = mode & 0o7777;
    for (const match of clauses as RegExpExecArray[]) {
      const who = [...(match[1] || 'a')].reduce((bits, c) => bits | (WHO_BITS[c] ?? 0), 0);
      for (const [, op, perms] of (match[2] as string).matchAll(/([-+=])([rwxXstugo]*)/g)) {
        const bits = permissionBits(perms as string, result, isDirectory) & who;
        if (op === '+') result |= bits;
        else if (op === '-') result &= ~bits;
        else result = (result & ~who) | bits;
      }
    }
    return result;
  };
}

/** Computes the bits a permission list sets, before the class mask. `X` and `u/g/o` read `mode`. */
function permissionBits(perms: string, mode: number, isDirectory: boolean): number {
  if (perms === 'u' || perms === 'g' || perms === 'o') {
    const shift = { u: 6, g: 3, o: 0 }[perms];
    return ((mode >> shift) & 0o7) * 0o111;
  }
  let bits = 0;
  for (const perm of perms) {
    if (perm === 'X') {
      if (isDirectory || (mode & 0o111) !== 0) bits |= 0o111;
    } else {
      bits |= PERM_BITS[perm] ?? 0;
    }
  }
  return bits;
}

/** Computes an entry's mode: `spec` applied to its current mode, or that mode when there is no spec. */
export function applyModeSpec(
  spec: ModeSpec | undefined,
  mode: number,
  isDirectory: boolean,
): number {
  if (spec === undefined) return mode & 0o7777;
  return typeof spec === 'number' ? spec : spec(mode, isDirectory);
}
