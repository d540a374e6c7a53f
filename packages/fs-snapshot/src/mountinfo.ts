import { readFile } from 'node:fs/promises';

import { SnapshotError } from './errors.js';

/** One line of `/proc/PID/mountinfo` (see proc(5)), with escaped paths decoded. */
export interface MountInfoEntry {
  mountId: number;
  parentId: number;
  /** `major:minor` of the device. */
  device: string;
  /** The directory of the mounted file system that is seen at `mountPoint`. */
  root: string;
  mountPoint: string;
  mountOptions: string;
  fsType: string;
  source: string;
  superOptions: string;
}

/**
 * Decodes the octal escapes that the kernel writes for space, tab, newline and backslash
 * (`\040`, `\011`, `\012`, `\134`) in mountinfo paths.
 */
export function unescapeMountPath(field: string): string {
  return field.replace(/\\([0-7]{3})/g, (_match, octal: string) =>
    String.fromCharCode(parseInt(octal, 8)),
  );
}

/** Parses the text of a mountinfo file; a malformed line raises `INVALID_MOUNTINFO`. */
export function parseMountInfo(text: string): MountInfoEntry[] {
  const entries: MountInfoEntry[] = [];
  const lines = text.split('\n');
  for (const [index, line] of lines.entries()) {
    if (line.trim() === '') continue;
    entries.push(parseMountInfoLine(line, index + 1));
  }
  return entries;
}

function parseMountInfoLine(line: string, lineNumber: number): MountInfoEntry {
  const fields = line.split(' ');
  // Optional fields (shared:N, master:N, ...) come between the sixth field and a lone '-'.
  const separator = fields.indexOf('-', 6);
  if (fields.length < 10 || separator === -1 || fields.length < separator + 4) {
    throw new SnapshotError(
      'INVALID_MOUNTINFO',
      `invalid mountinfo line ${lineNumber}: ${JSON.stringify(line)}`,
      {
        hint: 'Expected "ID PARENT MAJOR:MINOR ROOT MOUNTPOINT OPTIONS [OPTIONAL...] - FSTYPE SOURCE SUPEROPTIONS".',
      },
    );
  }
  const mountId = Number(fields[0]);
  const parentId = Number(fields[1]);
  if (!Number.isInteger(mountId) || !Number.isInteger(parentId)) {
    throw new SnapshotError(
      'INVALID_MOUNTINFO',
      `invalid mount ids on mountinfo line ${lineNumber}: ${JSON.stringify(line)}`,
      {
        hint: 'The first two fields of a mountinfo line must be integers.',
      },
    );
  }
  return {
    mountId,
    parentId,
    device: fields[2] ?? '',
    root: unescapeMountPath(fields[3] ?? ''),
    mountPoint: unescapeMountPath(fields[4] ?? ''),
    mountOptions: fields[5] ?? '',
    fsType: fields[separator + 1] ?? '',
    source: unescapeMountPath(fields[separator + 2] ?? ''),
    superOptions: fields[separator + 3] ?? '',
  };
}

/** Reads and parses a mountinfo file, by default the calling process's own. */
export async function readMountInfo(path = '/proc/self/mountinfo'): Promise<MountInfoEntry[]> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    throw new SnapshotError('INVALID_MOUNTINFO', `failed to read ${path}`, {
      hint: 'Mount /proc, or pass ignoreMounts: false to skip mount-point detection.',
      cause: error,
    });
  }
  return parseMountInfo(text);
}
