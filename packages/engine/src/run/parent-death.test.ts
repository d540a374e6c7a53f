import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { copyFile, mkdir, mkdtemp, readdir, readFile, rm, symlink } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildChrootCommand } from './chroot-command.js';

let dir: string;
let rootfs: string;

beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'kiln-pdeath-test-'));
  rootfs = path.join(dir, 'rootfs');
  for (const d of ['bin', 'proc']) await mkdir(path.join(rootfs, d), { recursive: true });
  await copyFile('/bin/busybox', path.join(rootfs, 'bin/busybox'));
  for (const applet of ['sh', 'sleep']) await symlink('busybox', path.join(rootfs, 'bin', applet));
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** PIDs of processes whose argv or environment contains `marker`. */
async function processesWith(marker: string): Promise<number[]> {
  const pids: number[] = [];
  for (const entry of await readdir('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const texts = await Promise.all(
      ['cmdline', 'environ'].map((file) =>
        readFile(`/proc/${entry}/${file}`, 'latin1').catch(() => ''),
      ),
    );
    if (texts.some((text) => text.includes(marker))) pids.push(Number(entry));
  }
  return pids;
}

async function waitFor(condition: () => Promise<boolean>, what: string): Promise<void> {
  for (let attempt = 0; attempt < 100; attempt += 1) {
    if (await condition()) return;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`Timed out waiting until ${what}`);
}

describe('RUN sandbox', () => {
  it('dies when the process that started it is killed', async () => {
    const marker = `KILN_PDEATH_MARKER=${randomBytes(6).toString('hex')}`;
    const spec = buildChrootCommand({
      rootfs,
      argv: ['sleep', '300'],
      cwd: '/',
      uid: 0,
      gid: 0,
      groups: [0],
      env: ['PATH=/bin', marker],
      mounts: [{ kind: 'proc', target: '/proc' }],
    });
    // A separate node process plays kiln's role, so that the test can kill it with SIGKILL.
    const script =
      "const s = JSON.parse(process.argv[1]); require('node:child_process')" +
      ".spawn(s.file, s.args, { env: s.env, stdio: ['ignore', 'ignore', 'ignore', 'pipe'] })" +
      '.stdio[3].end(s.envInput); setInterval(() => {}, 1000);';
    const parent = spawn(process.execPath, ['-e', script, JSON.stringify(spec)], {
      stdio: 'ignore',
    });
    try {
      // The sleep itself carries the marker in its environment.
      await waitFor(async () => {
        for (const pid of await processesWith(marker)) {
          const argv = await readFile(`/proc/${pid}/cmdline`, 'latin1').catch(() => '');
          if (argv === ['sleep', '300', ''].join('\0')) return true;
        }
        return false;
      }, 'the sandboxed sleep runs');
      parent.kill('SIGKILL');
      await waitFor(async () => (await processesWith(marker)).length === 0, 'the sandbox is gone');
    } finally {
      parent.kill('SIGKILL');
      // Only processes this test started carry the marker.
      for (const pid of await processesWith(marker)) {
        try {
          process.kill(pid, 'SIGKILL');
        } catch {
          // It exited meanwhile.
        }
      }
    }
    expect(await processesWith(marker)).toEqual([]);
  });
});
