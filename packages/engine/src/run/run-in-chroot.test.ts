import { randomBytes } from 'node:crypto';
import { lstat, mkdir, readdir, readFile, symlink, copyFile } from 'node:fs/promises';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runInChroot } from './run-in-chroot.js';

const BUSYBOX = '/bin/busybox';
let dir: string;
let rootfs: string;

beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'kiln-run-test-'));
  rootfs = path.join(dir, 'rootfs');
  for (const d of ['bin', 'proc', 'dev', 'sys', 'etc', 'tmp'])
    await mkdir(path.join(rootfs, d), { recursive: true });
  await copyFile(BUSYBOX, path.join(rootfs, 'bin/busybox'));
  for (const applet of ['sh', 'id', 'pwd', 'cat', 'ls', 'echo', 'touch', 'sleep', 'ip']) {
    await symlink('busybox', path.join(rootfs, 'bin', applet));
  }
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

function run(
  argv: string[],
  options: {
    cwd?: string;
    env?: string[];
    uid?: number;
    gid?: number;
    groups?: number[];
    network?: 'host' | 'none';
  } = {},
) {
  const lines: string[] = [];
  const result = runInChroot({
    rootfs,
    argv,
    env: options.env ?? ['PATH=/bin'],
    cwd: options.cwd ?? '/',
    identity: {
      uid: options.uid ?? 0,
      gid: options.gid ?? 0,
      groups: options.groups ?? [0],
      home: '/',
    },
    scratchDir: path.join(dir, 'scratch'),
    ...(options.network ? { network: options.network } : {}),
    onOutput: (line) => lines.push(line),
  });
  return result.then((r) => ({ ...r, lines }));
}

describe('runInChroot', () => {
  it('runs as the given uid, gid and groups', async () => {
    const result = await run(['id'], { uid: 65534, gid: 65534, groups: [65534, 5] });
    expect(result.exitCode).toBe(0);
    expect(result.lines).toEqual(['uid=65534 gid=65534 groups=5,65534']);
  });

  it('uses only the given environment', async () => {
    const result = await run(['sh', '-c', 'echo "$FOO|$HOME|$PATH"'], {
      env: ['PATH=/bin', 'FOO=a b'],
    });
    expect(result.lines).toEqual(['a b||/bin']);
  });

  it('passes env values outside any argv', async () => {
    const marker = `kiln-argv-${randomBytes(6).toString('hex')}`;
    const value = `${marker} "q" 'q' a=b\nline two`;
    // The sleep runs directly, so its environment is exactly what the sandbox passed.
    const running = run(['sleep', '1'], {
      env: ['PATH=/bin', `SECRET=${value}`, `odd.name=${marker}`],
    });
    let done = false;
    void running.finally(() => (done = true));
    const leaks: string[] = [];
    let sleepEnv: string | undefined;
    while (!done) {
      for (const pid of (await readdir('/proc')).filter((name) => /^\d+$/.test(name))) {
        const argv = await readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => '');
        if (argv.includes(marker)) leaks.push(argv);
        if (argv === 'sleep\u00001\u0000' && sleepEnv === undefined) {
          sleepEnv = await readFile(`/proc/${pid}/environ`, 'utf8').catch(() => undefined);
        }
      }
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    expect((await running).exitCode).toBe(0);
    expect(leaks).toEqual([]);
    expect(sleepEnv?.split('\0').sort()).toEqual(
      ['', 'PATH=/bin', `SECRET=${value}`, `odd.name=${marker}`].sort(),
    );
  });

  it('creates and enters the working directory', async () => {
    const result = await run(['pwd'], { cwd: '/work/dir' });
    expect(result.lines).toEqual(['/work/dir']);
    expect((await lstat(path.join(rootfs, 'work/dir'))).isDirectory()).toBe(true);
  });

  it('reports the exit code and output tail', async () => {
    const result = await run(['sh', '-c', 'echo one; echo two >&2; exit 7']);
    expect(result.exitCode).toBe(7);
    expect(result.outputTail).toContain('one');
    expect(result.outputTail).toContain('two');
  });

  it('leaves no mounts or network files behind', async () => {
    const result = await run([
      'sh',
      '-c',
      'ls /proc/self >/dev/null && echo x >> /etc/hosts && cat /etc/resolv.conf >/dev/null',
    ]);
    expect(result.exitCode).toBe(0);
    expect(await readdir(path.join(rootfs, 'proc'))).toEqual([]);
    expect(await readdir(path.join(rootfs, 'dev'))).toEqual([]);
    expect(await readdir(path.join(rootfs, 'etc'))).toEqual([]);
    const mountinfo = await readFile('/proc/self/mountinfo', 'utf8');
    expect(mountinfo).not.toContain(rootfs);
  });

  it('keeps only loopback, and brings it up, with network none', async () => {
    const result = await run(['sh', '-c', 'ls /sys/class/net >/dev/null; ip -o link show'], {
      network: 'none',
    });
    expect(result.exitCode).toBe(0);
    expect(result.lines).toHaveLength(1);
    expect(result.lines[0]).toMatch(/^1: lo: <LOOPBACK,UP,LOWER_UP>/);
  });

  it('kills the command when aborted', async () => {
    const controller = new AbortController();
    const running = runInChroot({
      rootfs,
      argv: ['sh', '-c', 'echo started; sleep 600'],
      env: ['PATH=/bin'],
      cwd: '/',
      identity: { uid: 0, gid: 0, groups: [0], home: '/' },
      scratchDir: path.join(dir, 'scratch'),
      signal: controller.signal,
      onOutput: (line) => {
        if (line === 'started') controller.abort();
      },
    });
    await expect(running).rejects.toMatchObject({ code: 'BUILD_CANCELLED' });
    expect(await readdir(path.join(rootfs, 'proc'))).toEqual([]);
  });

  it('adds missing mount points only while running', async () => {
    await rm(path.join(rootfs, 'sys'), { recursive: true });
    const result = await run(['sh', '-c', 'ls /sys/kernel >/dev/null && echo ok']);
    expect(result.lines).toEqual(['ok']);
    await expect(lstat(path.join(rootfs, 'sys'))).rejects.toThrow();
    await mkdir(path.join(rootfs, 'sys'));
  });

  it('keeps /sys read-only', async () => {
    const result = await run(['touch', '/sys/kiln-test']);
    expect(result.exitCode).not.toBe(0);
  });
});
