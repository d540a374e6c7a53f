import { readFile } from 'node:fs/promises';
import { EngineError } from '../errors.js';
import { resolveInRoot } from '../util/rootfs-path.js';

/** The identity a RUN command runs as, resolved from the image's own account files. */
export interface RunIdentity {
  uid: number;
  gid: number;
  /** Supplementary groups, the primary gid first as Docker sets them. */
  groups: number[];
  home: string;
}

interface PasswdEntry {
  name: string;
  uid: number;
  gid: number;
  home: string;
}

interface GroupEntry {
  name: string;
  gid: number;
  members: string[];
}

const NUMERIC = /^\d+$/;

export function parsePasswd(text: string): PasswdEntry[] {
  return splitRecords(text)
    .filter(
      (fields) =>
        fields.length >= 4 && NUMERIC.test(fields[2] ?? '') && NUMERIC.test(fields[3] ?? ''),
    )
    .map((f) => ({ name: f[0] ?? '', uid: Number(f[2]), gid: Number(f[3]), home: f[5] || '/' }));
}

export function parseGroup(text: string): GroupEntry[] {
  return splitRecords(text)
    .filter((fields) => fields.length >= 3 && NUMERIC.test(fields[2] ?? ''))
    .map((f) => ({
      name: f[0] ?? '',
      gid: Number(f[2]),
      members: (f[3] ?? '').split(',').filter(Boolean),
    }));
}

function splitRecords(text: string): string[][] {
  return text
    .split('\n')
    .filter((line) => line.trim() !== '' && !line.startsWith('#'))
    .map((line) => line.split(':'));
}

/**
 * Resolves a Dockerfile USER value (`name`, `uid`, `name:group`, `uid:gid`) against the account files'
 * contents. A numeric user missing from passwd runs with gid 0, as Docker does; a missing name fails.
 */
export function resolveIdentity(user: string, passwdText: string, groupText: string): RunIdentity {
  const [userPart = '', groupPart] = (user || '0').split(':', 2);
  const passwd = parsePasswd(passwdText);
  const group = parseGroup(groupText);

  const entry = NUMERIC.test(userPart)
    ? passwd.find((p) => p.uid === Number(userPart))
    : passwd.find((p) => p.name === userPart);
  if (!entry && !NUMERIC.test(userPart)) {
    throw new EngineError(
      'USER_NOT_FOUND',
      `User "${userPart}" not found in the image's /etc/passwd`,
      {
        hint: 'Create the user in an earlier RUN (for example with adduser) or use a numeric uid.',
      },
    );
  }
  const uid = entry?.uid ?? Number(userPart);

  let gid = entry?.gid ?? 0;
  if (groupPart !== undefined && groupPart !== '') {
    const groupEntry = NUMERIC.test(groupPart)
      ? undefined
      : group.find((g) => g.name === groupPart);
    if (!NUMERIC.test(groupPart) && !groupEntry) {
      throw new EngineError(
        'USER_NOT_FOUND',
        `Group "${groupPart}" not found in the image's /etc/group`,
        {
          hint: 'Create the group in an earlier RUN (for example with addgroup) or use a numeric gid.',
        },
      );
    }
    gid = groupEntry?.gid ?? Number(groupPart);
  }

  // An explicit group replaces the supplementary list, as Docker does for USER name:group.
  const supplementary =
    groupPart !== undefined || !entry
      ? []
      : group.filter((g) => g.members.includes(entry.name)).map((g) => g.gid);
  const groups = [gid, ...supplementary.filter((g) => g !== gid)];
  return { uid, gid, groups, home: entry?.home ?? '/' };
}

/** Reads the account files of `rootfs` (missing files read as empty) and resolves `user`. */
export async function resolveIdentityInRoot(rootfs: string, user: string): Promise<RunIdentity> {
  const readAccountFile = async (name: string): Promise<string> => {
    const file = await resolveInRoot(rootfs, name);
    return readFile(file, 'utf8').catch(() => '');
  };
  return resolveIdentity(
    user,
    await readAccountFile('/etc/passwd'),
    await readAccountFile('/etc/group'),
  );
}
