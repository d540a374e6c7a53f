import {
  chmod,
  copyFile,
  mkdir,
  mkdtemp,
  readFile,
  readdir,
  rm,
  symlink,
  writeFile,
} from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { build } from '../build.js';

let dir: string;
let count = 0;

beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'kiln-run-mounts-test-'));
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** Builds `lines` on a busybox root filesystem with RUN cache mounts kept in `cacheDir`. */
async function buildWithCacheDir(lines: string[], cacheDir: string): Promise<string[]> {
  count += 1;
  const context = path.join(dir, `context-${count}`);
  const rootfs = path.join(context, 'rootfs');
  for (const name of ['bin', 'proc', 'dev', 'sys', 'tmp'])
    await mkdir(path.join(rootfs, name), { recursive: true });
  await chmod(path.join(rootfs, 'tmp'), 0o1777);
  await copyFile('/bin/busybox', path.join(rootfs, 'bin/busybox'));
  for (const applet of ['sh', 'cat', 'sleep', 'touch'])
    await symlink('busybox', path.join(rootfs, 'bin', applet));
  await writeFile(path.join(context, 'Dockerfile'), `${lines.join('\n')}\n`);
  const output: string[] = [];
  await build({
    context,
    noPush: true,
    workDir: path.join(dir, 'work'),
    cache: { enabled: false, dir: cacheDir },
    stageConcurrency: 2,
    onEvent: (event) => {
      if (event.type === 'step-output') output.push(event.line);
    },
  });
  return output;
}

describe('RUN --mount=type=cache,sharing=private', () => {
  it('keeps a second instance for concurrent stages', async () => {
    const cacheDir = path.join(dir, 'cache');
    // Each stage announces itself on a shared cache and waits (at most 20 s) for the other, so
    // both RUNs hold the private cache at the same time.
    const step = (name: string, other: string): string =>
      `RUN --mount=type=cache,id=meet,target=/meet --mount=type=cache,id=tools,target=/p,sharing=private ` +
      `touch /meet/${name}; i=0; while [ ! -e /meet/${other} ] && [ $i -lt 200 ]; do sleep 0.1; i=$((i+1)); done; ` +
      `[ -e /meet/${other} ] && echo ${name} > /p/owner`;
    await buildWithCacheDir(
      [
        'FROM scratch AS base',
        'COPY rootfs/ /',
        'FROM base AS a',
        step('a', 'b'),
        'FROM base AS b',
        step('b', 'a'),
        'FROM base',
        'COPY --from=a /bin/sh /a-done',
        'COPY --from=b /bin/sh /b-done',
      ],
      cacheDir,
    );

    const mounts = path.join(cacheDir, 'run-mounts');
    expect((await readdir(mounts)).sort()).toEqual(['meet', 'tools', 'tools#1']);
    const owners = await Promise.all(
      ['tools', 'tools#1'].map((name) => readFile(path.join(mounts, name, 'owner'), 'utf8')),
    );
    expect(owners.sort()).toEqual(['a\n', 'b\n']);

    // A later build that is alone on the cache gets the first instance again.
    const output = await buildWithCacheDir(
      [
        'FROM scratch',
        'COPY rootfs/ /',
        'RUN --mount=type=cache,id=tools,target=/p,sharing=private cat /p/owner',
      ],
      cacheDir,
    );
    const first = await readFile(path.join(mounts, 'tools', 'owner'), 'utf8');
    expect(output).toEqual([first.trim()]);
  });
});
