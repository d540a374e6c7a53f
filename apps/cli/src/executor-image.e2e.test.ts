import { execFile } from 'node:child_process';
import { lstat, mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import {
  chrootRun,
  makeTempDir,
  removeTempDir,
  repoRoot,
  skopeoInspect,
  umociUnpack,
} from '@kiln/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const run = promisify(execFile);

// The image's PATH first; the host's sbin directories let the host find chroot itself.
const IMAGE_ENV = { PATH: '/kiln/bin:/usr/bin:/usr/sbin:/sbin' };

// Builds examples/executor-image with kiln itself, unpacks it with umoci and runs it with chroot.
describe('executor image', () => {
  let dir: string;
  let rootfs: string;
  let layout: string;

  beforeAll(async () => {
    dir = await makeTempDir('executor');
    layout = path.join(dir, 'layout');
    const script = path.join(repoRoot(), 'examples', 'executor-image', 'build.sh');
    await run(script, [layout], { maxBuffer: 16 * 1024 * 1024 });
    rootfs = await umociUnpack(layout, 'latest', path.join(dir, 'bundle'));
  });

  afterAll(async () => {
    if (dir) await removeTempDir(dir);
  });

  it('has the kiln build entrypoint', async () => {
    const config = (await skopeoInspect(`oci:${layout}:latest`, { config: true })) as {
      config: { Entrypoint: string[]; Env: string[]; WorkingDir: string };
    };
    expect(config.config.Entrypoint).toEqual(['/kiln/bin/node', '/kiln/kiln.mjs', 'build']);
    expect(config.config.Env).toContain('KILN_DIR=/kiln');
    expect(config.config.WorkingDir).toBe('/workspace');
  });

  it('runs kiln --help inside the image', async () => {
    const result = await chrootRun(rootfs, ['/kiln/bin/node', '/kiln/kiln.mjs', '--help'], {
      env: IMAGE_ENV,
    });
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect(result.stdout).toContain('build [options]');
    expect(result.stdout).toContain('parse');
  });

  it('runs kiln build --help and kiln check through its wrapper', async () => {
    const help = await chrootRun(rootfs, ['/kiln/bin/kiln', 'build', '--help'], {
      env: IMAGE_ENV,
    });
    expect(help.code).toBe(0);
    expect(help.stdout).toContain('--destination');

    await writeFile(path.join(rootfs, 'workspace', 'Dockerfile'), 'FROM busybox\nMAINTAINER me\n');
    const check = await chrootRun(rootfs, ['/kiln/bin/kiln', 'check', '/workspace/Dockerfile'], {
      env: IMAGE_ENV,
    });
    expect(check.stdout).toContain('/workspace/Dockerfile:2: MaintainerDeprecated:');
    expect(check.code).toBe(1);
  });

  /** Creates the device nodes that a container runtime provides and git and ssh-agent open. */
  async function makeDevices(): Promise<void> {
    await mkdir(path.join(rootfs, 'dev'), { recursive: true });
    for (const [name, minor] of [
      ['null', '3'],
      ['urandom', '9'],
    ] as const) {
      const node = path.join(rootfs, 'dev', name);
      if (
        await lstat(node).then(
          () => true,
          () => false,
        )
      )
        continue;
      await run('mknod', ['-m', '666', node, 'c', '1', minor]);
    }
  }

  it('runs git and clones a local repository', async () => {
    await makeDevices();
    const version = await chrootRun(rootfs, ['git', '--version'], { env: IMAGE_ENV });
    expect(version.code, version.stderr).toBe(0);
    expect(version.stdout).toMatch(/^git version \d+\./);

    // The repository is made on the host; the clone inside runs git-upload-pack from git's exec path.
    const source = path.join(rootfs, 'tmp', 'source');
    await run('git', ['init', '-q', source]);
    await writeFile(path.join(source, 'file.txt'), 'from git\n');
    await run('git', ['-C', source, 'add', 'file.txt']);
    await run('git', [
      '-C',
      source,
      '-c',
      'user.name=t',
      '-c',
      'user.email=t@t',
      'commit',
      '-qm',
      'init',
    ]);
    const clone = await chrootRun(
      rootfs,
      ['git', 'clone', '-q', 'file:///tmp/source', '/tmp/clone'],
      { env: { ...IMAGE_ENV, HOME: '/root' } },
    );
    expect(clone.code, clone.stderr).toBe(0);
    expect(await readFile(path.join(rootfs, 'tmp', 'clone', 'file.txt'), 'utf8')).toBe(
      'from git\n',
    );
  });

  it('runs ssh-agent and ssh-add', async () => {
    await makeDevices();
    // ssh-agent runs the command with an agent and exits with it, so no agent is left behind.
    const result = await chrootRun(
      rootfs,
      ['ssh-agent', 'sh', '-c', 'ssh-add -l; echo "ssh-add exit $?"'],
      { env: IMAGE_ENV },
    );
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toContain('The agent has no identities.');
    expect(result.stdout).toContain('ssh-add exit 1');
  });
});
