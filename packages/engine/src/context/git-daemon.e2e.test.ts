import type { ChildProcess } from 'node:child_process';
import { access, mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openBuildContext } from './context-source.js';
import { addSubmodules, makeGitFixture, startGitDaemon } from './git-fixture.test-support.js';

let tmp: string;
let daemon: ChildProcess | undefined;
let port: number;

beforeAll(async () => {
  tmp = await mkdtemp(path.join(os.tmpdir(), 'kiln-git-daemon-'));
  await makeGitFixture(tmp);
  // The git protocol (git://), served only on loopback, as kaniko's git:// contexts use it.
  ({ port, daemon } = await startGitDaemon(tmp));
  await addSubmodules(tmp, port);
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

  it('fetches submodules recursively without .git', async () => {
    const opened = await openBuildContext(`git://127.0.0.1:${port}/repo.git`);
    try {
      expect(await readFile(path.join(opened.directory, 'lib/lib.txt'), 'utf8')).toBe(
        'lib module\n',
      );
      expect(await readFile(path.join(opened.directory, 'lib/inner/inner.txt'), 'utf8')).toBe(
        'inner module\n',
      );
      await expect(access(path.join(opened.directory, '.git'))).rejects.toThrow();
      await expect(access(path.join(opened.directory, 'lib/.git'))).rejects.toThrow();
    } finally {
      await opened.cleanup();
    }
  });
});
