import { DockerfileParseError } from '../errors.js';
import type { RunMount } from './types.js';

const MOUNT_TYPES = new Set(['bind', 'cache', 'tmpfs', 'secret', 'ssh']);
const SHARING = new Set(['shared', 'private', 'locked']);

function mountError(message: string, hint: string): DockerfileParseError {
  return new DockerfileParseError(message, { code: 'INVALID_FLAG', hint });
}

// Splits a mount spec on commas outside double quotes, removing the quotes (a CSV field).
function splitFields(spec: string): string[] {
  const fields: string[] = [];
  let field = '';
  let quoted = false;
  for (let i = 0; i < spec.length; i++) {
    const ch = spec[i] as string;
    if (ch === '"') {
      if (quoted && spec[i + 1] === '"') {
        field += '"';
        i++;
      } else {
        quoted = !quoted;
      }
    } else if (ch === ',' && !quoted) {
      fields.push(field);
      field = '';
    } else {
      field += ch;
    }
  }
  if (quoted)
    throw mountError(
      `unterminated quote in mount spec ${JSON.stringify(spec)}`,
      'Close the double quote.',
    );
  fields.push(field);
  return fields;
}

function parseBool(key: string, value: string | undefined): boolean {
  if (value === undefined) return true;
  const lower = value.toLowerCase();
  if (lower === 'true' || lower === '1') return true;
  if (lower === 'false' || lower === '0') return false;
  throw mountError(`invalid value for ${key}: ${value}`, `Write ${key}=true or ${key}=false.`);
}

function parseInteger(key: string, value: string | undefined, radix: number): number {
  const parsed = value === undefined ? Number.NaN : Number.parseInt(value, radix);
  const valid = value !== undefined && (radix === 8 ? /^[0-7]+$/ : /^\d+$/).test(value);
  if (!valid || Number.isNaN(parsed)) {
    throw mountError(
      `invalid value for ${key}: ${value ?? ''}`,
      `Give ${key} a ${radix === 8 ? 'octal' : 'decimal'} number.`,
    );
  }
  return parsed;
}

const SIZE_UNITS: Readonly<Record<string, number>> = {
  '': 1,
  b: 1,
  k: 1024,
  m: 1024 ** 2,
  g: 1024 ** 3,
  t: 1024 ** 4,
};

function parseSize(value: string | undefined): number {
  const match = /^(\d+(?:\.\d+)?)\s*([kmgt]?)i?b?$/i.exec(value ?? '');
  if (match === null)
    throw mountError(`invalid value for size: ${value ?? ''}`, 'Write a size such as 64m or 1g.');
  return Math.round(
    Number.parseFloat(match[1] as string) *
      (SIZE_UNITS[(match[2] as string).toLowerCase()] as number),
  );
}

/**
 * Parses one `--mount` value (`type=cache,target=/root/.cache,sharing=locked`). Keys and
 * defaults follow Docker's RUN --mount reference; bind, cache and tmpfs need a target.
 */
export function parseRunMount(spec: string): RunMount {
  const mount: RunMount = { type: 'bind', readonly: false, spec };
  let readonlySet = false;

  for (const field of splitFields(spec)) {
    if (field.trim() === '') continue;
    const equals = field.indexOf('=');
    const key = (equals < 0 ? field : field.slice(0, equals)).trim().toLowerCase();
    const value = equals < 0 ? undefined : field.slice(equals + 1);
    const needValue = (): string => {
      if (value === undefined)
        throw mountError(`mount option ${key} needs a value`, `Write ${key}=VALUE.`);
      return value;
    };

    switch (key) {
      case 'type': {
        const type = needValue().toLowerCase();
        if (!MOUNT_TYPES.has(type)) {
          throw mountError(
            `unsupported mount type ${JSON.stringify(type)}`,
            'Use bind, cache, tmpfs, secret or ssh.',
          );
        }
        mount.type = type as RunMount['type'];
        break;
      }
      case 'target':
      case 'dst':
      case 'destination':
        mount.target = needValue();
        break;
      case 'source':
      case 'src':
        mount.source = needValue();
        break;
      case 'from':
        mount.from = needValue();
        break;
      case 'readonly':
      case 'ro':
        mount.readonly = parseBool(key, value);
        readonlySet = true;
        break;
      case 'readwrite':
      case 'rw':
        mount.readonly = !parseBool(key, value);
        readonlySet = true;
        break;
      case 'id':
        mount.id = needValue();
        break;
      case 'sharing': {
        const sharing = needValue().toLowerCase();
        if (!SHARING.has(sharing)) {
          throw mountError(
            `unsupported sharing value ${JSON.stringify(sharing)}`,
            'Use shared, private or locked.',
          );
        }
        mount.sharing = sharing as RunMount['sharing'];
        break;
      }
      case 'mode':
        mount.mode = parseInteger(key, value, 8);
        break;
      case 'uid':
        mount.uid = parseInteger(key, value, 10);
        break;
      case 'gid':
        mount.gid = parseInteger(key, value, 10);
        break;
      case 'required':
        mount.required = parseBool(key, value);
        break;
      case 'env':
        mount.env = needValue();
        break;
      case 'size':
        mount.size = parseSize(value);
        break;
      default:
        throw mountError(
          `unexpected key '${key}' in '${field}'`,
          'Mount options are type, target, source, from, readonly, id, sharing, mode, uid, gid, required, env and size.',
        );
    }
  }

  if (!readonlySet && mount.type === 'bind') mount.readonly = true;
  if (
    mount.target === undefined &&
    (mount.type === 'bind' || mount.type === 'cache' || mount.type === 'tmpfs')
  ) {
    throw mountError(
      `mount type ${mount.type} requires a target`,
      'Add target=/path to the --mount value.',
    );
  }
  if (mount.type === 'cache' && mount.sharing === undefined) mount.sharing = 'shared';
  return mount;
}
