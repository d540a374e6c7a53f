import { execFile } from 'node:child_process';
import { link, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

import { setAttributeSync } from '@napi-rs/xattr';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';

import { IgnoreList } from '../ignore.js';
import { changeSetFromUpperDir } from './upper-changes.js';

const run = promisify(execFile);
const isRoot = process.getuid?.() === 0;

let upper: string;

beforeEach(async () => {
  upper = await mkdtemp(join(tmpdir(), 'kiln-upper-'));
});

afterEach(async () => {
  await rm(upper, { recursive: true, force: true });
});

describe.skipIf(!isRoot)('changeSetFromUpperDir', () => {
  it('turns overlay whiteouts and opaque directories into OCI entries', async () => {
    await mkdir(join(upper, 'etc/apt'), { recursive: true });
    await writeFile(join(upper, 'etc/apt/sources.list'), 'deb x\n');
    await run('mknod', [join(upper, 'etc/motd'), 'c', '0', '0']);
    await mkdir(join(upper, 'var/lib/apt/lists'), { recursive: true });
    setAttributeSync(join(upper, 'var/lib/apt/lists'), 'trusted.overlay.opaque', 'y');
    await mkdir(join(upper, 'home'));
    setAttributeSync(join(upper, 'home'), 'user.overlay.opaque', 'y');
    await writeFile(join(upper, 'var/lib/apt/lists/lock'), '');

    const changes = changeSetFromUpperDir(upper, new IgnoreList());
    expect(changes.root).toBe(upper);
    expect(changes.entries.map(({ path, kind }) => `${kind} ${path}`)).toEqual([
      'add etc',
      'add etc/apt',
      'add etc/apt/sources.list',
      'delete etc/motd',
      'add home',
      'opaque home',
      'add var',
      'add var/lib',
      'add var/lib/apt',
      'add var/lib/apt/lists',
      'opaque var/lib/apt/lists',
      'add var/lib/apt/lists/lock',
    ]);
  });

  it('keeps a device that is not 0/0 as an add', async () => {
    await run('mknod', [join(upper, 'null'), 'c', '1', '3']);
    expect(changeSetFromUpperDir(upper, new IgnoreList()).entries).toEqual([
      { path: 'null', kind: 'add' },
    ]);
  });

  it('groups hardlinks but not whiteouts', async () => {
    await writeFile(join(upper, 'a'), 'x');
    await link(join(upper, 'a'), join(upper, 'b'));
    await run('mknod', [join(upper, 'gone1'), 'c', '0', '0']);
    await link(join(upper, 'gone1'), join(upper, 'gone2'));
    const changes = changeSetFromUpperDir(upper, new IgnoreList());
    expect(changes.hardlinks).toEqual([['a', 'b']]);
  });

  it('leaves ignored paths out', async () => {
    await mkdir(join(upper, 'proc'));
    await writeFile(join(upper, 'proc/x'), '');
    await mkdir(join(upper, 'tmp'));
    await run('mknod', [join(upper, 'tmp/gone'), 'c', '0', '0']);
    await writeFile(join(upper, 'kept'), '');
    const ignore = new IgnoreList(['/proc', '/tmp']);
    expect(changeSetFromUpperDir(upper, ignore).entries).toEqual([{ path: 'kept', kind: 'add' }]);
  });
});
