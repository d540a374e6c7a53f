import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openBuildContext } from './context-source.js';
import { makeGitFixture } from './git-fixture.test-support.js';

let tmp: string;
let daemon: ChildProcess | undefined;
let port: number;

/** Returns a port that was free on 127.0.0.1 a moment ago. */
async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port: free } = server.address() as net.AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return free;
}

/** Waits until something accepts connections on the port, for at most about five seconds. */
async function waitForPort(target: number): Promise<void> {
  for (let attempt = 0; attempt < 100; attempt += 1) {
    const open = await new Promise<boolean>((resolve) => {
      const socket = net.connect(target, '127.0.0.1');
      socket.once('connect', () => {
        socket.destroy();
        resolve(true);
      });
      socket.once('error', () => resolve(false));
    });
    if (open) return;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`git daemon did not listen on 127.0.0.1:${target}`);
}

beforeAll(async () => {
  tmp = await mkdtemp(path.join(os.tmpdir(), 'kiln-git-daemon-'));
  await makeGitFixture(tmp);
  port = await freePort();
  // The git protocol (git://), served only on loopback, as kaniko's git:// contexts use it.
  daemon = spawn(
    'git',
    ['daemon', '--reuseaddr', '--export-all', `--base-path=${tmp}`, '--listen=127.0.0.1'].concat([
      `--port=${port}`,
      tmp,
    ]),
    { stdio: 'ignore' },
  );
  await waitForPort(port);
});

afterAll(async () => {
  daemon?.kill();
  await rm(tmp, { recursive: true, force: true });
});

describe('git:// contexts', () => {
  it('clones kaniko refs/heads form', async () => {
    const opened = await openBuildContext(`git://127.0.0.1:${port}/repo.git#refs/heads/feature`);
    try {
      expect(await readFile(path.join(opened.directory, 'app/main.txt'), 'utf8')).toBe(
        'feature branch\n',
      );
    } finally {
      await opened.cleanup();
    }
  });

  it('clones the default branch with a sub-path', async () => {
    const opened = await openBuildContext(`git://127.0.0.1:${port}/repo.git`, { subPath: 'app' });
    try {
      expect(await readFile(path.join(opened.directory, 'main.txt'), 'utf8')).toBe('main branch\n');
    } finally {
      await opened.cleanup();
    }
  });
});
