import { execFile, spawn } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openWorkDir, sweepStaleWorkDirs } from './work-dir.js';

let tempDir: string;
beforeEach(async () => {
  tempDir = await mkdtemp(path.join(os.tmpdir(), 'kiln-work-dir-test-'));
});
afterEach(async () => {
  await rm(tempDir, { recursive: true, force: true });
});

/** Returns the PID of a process that has exited, like that of a killed build. */
async function deadPid(): Promise<number> {
  const child = spawn('true');
  await new Promise((resolve) => child.on('exit', resolve));
  return child.pid!;
}

async function exists(file: string): Promise<boolean> {
  return stat(file).then(
    () => true,
    () => false,
  );
}

/** Rewrites a work dir's owner file as if a process that has exited had made it. */
async function orphan(scratch: string): Promise<void> {
  const owner = JSON.parse(await readFile(path.join(scratch, 'owner.json'), 'utf8')) as object;
  await writeFile(
    path.join(scratch, 'owner.json'),
    JSON.stringify({ ...owner, pid: await deadPid() }),
  );
}

describe('sweepStaleWorkDirs', () => {
  it('removes temporary work dirs of dead owners and keeps live ones', async () => {
    const dead = await openWorkDir(undefined, tempDir);
    await orphan(dead.scratch);
    const live = await openWorkDir(undefined, tempDir);
    const foreign = path.join(tempDir, 'kiln-foreign', 'builds', 'x');
    await mkdir(foreign, { recursive: true });

    await sweepStaleWorkDirs(undefined, tempDir);
    expect(await exists(dead.root)).toBe(false);
    expect(await exists(live.scratch)).toBe(true);
    expect(await exists(foreign)).toBe(true);
    await live.cleanup();
  });

  it('unmounts what a dead build left mounted before removing it', async () => {
    const dead = await openWorkDir(undefined, tempDir);
    const merged = path.join(dead.scratch, 'snapshots', 'merged');
    await mkdir(merged, { recursive: true });
    await promisify(execFile)('mount', ['-t', 'tmpfs', 'tmpfs', merged]);
    await orphan(dead.scratch);

    await openWorkDir(undefined, tempDir).then((work) => work.cleanup());
    expect(await exists(dead.root)).toBe(false);
    const mounts = await readFile('/proc/self/mountinfo', 'utf8');
    expect(mounts).not.toContain(merged);
  });

  it('sweeps only the builds of a configured work dir', async () => {
    const configured = path.join(tempDir, 'cache');
    const dead = await openWorkDir(configured);
    await orphan(dead.scratch);
    await writeFile(path.join(configured, 'kept'), 'blob');

    await sweepStaleWorkDirs(configured);
    expect(await exists(dead.scratch)).toBe(false);
    expect(await exists(path.join(configured, 'kept'))).toBe(true);
  });
});
