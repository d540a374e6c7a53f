import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { readMountInfo } from '@kiln/fs-snapshot';

export interface WorkDir {
  /** Holds the blob store, which outlives the build when the directory was configured. */
  root: string;
  /** This build's own files, removed at the end. */
  scratch: string;
  cleanup(): Promise<void>;
}

/** File in each build's scratch dir that names the process owning it, so later builds can sweep it. */
const OWNER_FILE = 'owner.json';

interface Owner {
  pid: number;
  /** Start time of the process in clock ticks since boot, so a reused PID is not taken for the owner. */
  start: string;
}

/**
 * Opens the work dir: the configured one (its blob cache is kept), or a temporary one removed at the end.
 * Work dirs that a killed build left behind are swept first.
 */
export async function openWorkDir(
  configuredDir: string | undefined,
  tempDir = os.tmpdir(),
): Promise<WorkDir> {
  await sweepStaleWorkDirs(configuredDir, tempDir);
  const root = configuredDir
    ? path.resolve(configuredDir)
    : await mkdtemp(path.join(tempDir, 'kiln-'));
  const scratch = path.join(root, 'builds', randomBytes(8).toString('hex'));
  await mkdir(scratch, { recursive: true });
  const owner: Owner = { pid: process.pid, start: await processStart(process.pid) };
  await writeFile(path.join(scratch, OWNER_FILE), JSON.stringify(owner));
  return {
    root,
    scratch,
    cleanup: async () => {
      await rm(configuredDir ? scratch : root, { recursive: true, force: true });
    },
  };
}

/**
 * Removes the work dirs of builds whose owner process is dead (killed with SIGKILL, for example),
 * unmounting the overlay mounts left under them first. A dir with a mount that stays is kept, because
 * removing files through a mount could reach outside it. Dirs without an owner file are left alone.
 * NOTE: an owner in another PID namespace that shares this temp dir would look dead.
 */
export async function sweepStaleWorkDirs(
  configuredDir: string | undefined,
  tempDir = os.tmpdir(),
): Promise<void> {
  const candidates: Array<{ scratch: string; target: string }> = [];
  if (configuredDir) {
    const builds = path.join(path.resolve(configuredDir), 'builds');
    for (const name of await listDir(builds)) {
      const scratch = path.join(builds, name);
      candidates.push({ scratch, target: scratch });
    }
  } else {
    for (const name of await listDir(tempDir)) {
      if (!name.startsWith('kiln-')) continue;
      const root = path.join(tempDir, name);
      for (const build of await listDir(path.join(root, 'builds')))
        candidates.push({ scratch: path.join(root, 'builds', build), target: root });
    }
  }
  for (const { scratch, target } of candidates) {
    if (!(await ownerIsDead(scratch))) continue;
    if (await unmountUnder(target)) await rm(target, { recursive: true, force: true });
  }
}

async function ownerIsDead(scratch: string): Promise<boolean> {
  let owner: Owner;
  try {
    owner = JSON.parse(await readFile(path.join(scratch, OWNER_FILE), 'utf8')) as Owner;
  } catch {
    return false;
  }
  if (!Number.isInteger(owner.pid) || typeof owner.start !== 'string') return false;
  const start = await processStart(owner.pid).catch(() => undefined);
  return start !== owner.start;
}

/** Reads field 22 (starttime) of /proc/PID/stat; the command name before it may contain spaces. */
async function processStart(pid: number): Promise<string> {
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return fields[19] ?? '';
}

/** Unmounts every mount at or under `dir`, deepest first; returns whether none is left. */
async function unmountUnder(dir: string): Promise<boolean> {
  const under = async () =>
    (await readMountInfo())
      .map((entry) => entry.mountPoint)
      .filter((mountPoint) => mountPoint === dir || mountPoint.startsWith(`${dir}/`))
      .sort((a, b) => b.length - a.length);
  for (const mountPoint of await under())
    await promisify(execFile)('umount', [mountPoint]).catch(() => undefined);
  return (await under()).length === 0;
}

async function listDir(dir: string): Promise<string[]> {
  return readdir(dir).catch(() => []);
}
