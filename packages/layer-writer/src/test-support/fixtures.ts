import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmod, chown, lchown, link, mkdir, symlink, writeFile } from 'node:fs/promises';
import path from 'node:path';

import { listEntries } from './tree.js';
import { writeXattrs } from '../xattrs.js';

/** A file capability (VFS_CAP_REVISION_2, effective, CAP_NET_BIND_SERVICE permitted), as setcap writes it. */
export const CAPABILITY = Buffer.from('0100000200040000000000000000000000000000', 'hex');

export const LONG_DIRECTORY = `long/${'d'.repeat(120)}`;
export const LONG_FILE = `${LONG_DIRECTORY}/${'f'.repeat(200)}`;

/**
 * Builds a tree with every entry type and attribute a layer stores: files with setuid, setgid
 * and sticky bits, owners, long and non-ASCII names, symlinks, hardlinks, devices, a FIFO,
 * xattrs and nanosecond mtimes. Devices need root.
 */
export async function buildEveryTypeTree(root: string): Promise<void> {
  await mkdir(path.join(root, 'dir/sub'), { recursive: true });
  await mkdir(path.join(root, 'tmp'));
  await mkdir(path.join(root, 'shared'));
  await mkdir(path.join(root, 'dev'));
  await mkdir(path.join(root, LONG_DIRECTORY), { recursive: true });

  await writeFile(path.join(root, 'file.txt'), 'hello layer\n');
  await writeFile(path.join(root, 'empty'), '');
  await writeFile(path.join(root, 'dir/sub/big.bin'), randomBytes(3 * 1024 * 1024 + 17));
  await writeFile(path.join(root, 'dir/setuid'), '#!/bin/sh\n');
  await writeFile(path.join(root, 'dir/setgid'), '#!/bin/sh\n');
  await writeFile(path.join(root, 'naïve-日本.txt'), 'unicode\n');
  await writeFile(path.join(root, LONG_FILE), 'long\n');
  await writeFile(path.join(root, 'capability'), 'capable\n');

  // chown clears setuid, setgid and file capabilities, so owners come before modes and xattrs.
  await chown(path.join(root, 'file.txt'), 1000, 1000);
  await chown(path.join(root, 'dir/setuid'), 0, 0);
  await chown(path.join(root, 'dir/setgid'), 1, 50);
  await chown(path.join(root, 'shared'), 0, 50);
  await chown(path.join(root, 'empty'), 3_000_000, 3_000_001);
  await chmod(path.join(root, 'dir/setuid'), 0o4755);
  await chmod(path.join(root, 'dir/setgid'), 0o2711);
  await chmod(path.join(root, 'tmp'), 0o1777);
  await chmod(path.join(root, 'shared'), 0o2775);
  await chmod(path.join(root, 'empty'), 0o600);

  await symlink('file.txt', path.join(root, 'relative-link'));
  await symlink('/etc/passwd', path.join(root, 'absolute-link'));
  await symlink('does/not/exist', path.join(root, 'dangling-link'));
  await symlink(`../${'t'.repeat(150)}`, path.join(root, 'dir/long-target-link'));
  await lchown(path.join(root, 'relative-link'), 7, 8);

  await link(path.join(root, 'file.txt'), path.join(root, 'hardlink'));
  await link(path.join(root, 'file.txt'), path.join(root, 'dir/sub/another-hardlink'));

  execFileSync('mknod', ['-m', '666', path.join(root, 'dev/null'), 'c', '1', '3']);
  execFileSync('mknod', ['-m', '660', path.join(root, 'dev/loop-ish'), 'b', '7', '200']);
  execFileSync('mkfifo', ['-m', '640', path.join(root, 'fifo')]);

  writeXattrs(path.join(root, 'capability'), new Map([['security.capability', CAPABILITY]]));
  writeXattrs(path.join(root, 'file.txt'), new Map([['user.kiln.note', Buffer.from('some text')]]));
  writeXattrs(
    path.join(root, 'dir'),
    new Map([['user.kiln.binary', Buffer.from([0, 255, 1, 254])]]),
  );
  writeXattrs(
    path.join(root, 'relative-link'),
    new Map([['trusted.kiln', Buffer.from('on a symlink')]]),
  );

  await setMtimes(root, '@1600000000.123456789');
  execFileSync('touch', [
    '-h',
    '-d',
    '@1700000000.987654321',
    path.join(root, 'file.txt'),
    path.join(root, 'dir/sub'),
  ]);
  execFileSync('touch', ['-h', '-d', '@1', path.join(root, 'relative-link')]);
}

/** Sets the mtime (and atime) of every entry under `root` with `touch -h`, which keeps nanoseconds. */
export async function setMtimes(root: string, stamp: string): Promise<void> {
  const paths = (await listEntries(root)).map((relative) => path.join(root, relative));
  for (let index = 0; index < paths.length; index += 500) {
    execFileSync('touch', ['-h', '-d', stamp, ...paths.slice(index, index + 500)]);
  }
}
