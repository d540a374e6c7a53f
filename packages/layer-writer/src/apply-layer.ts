import { execFile } from 'node:child_process';
import { constants } from 'node:fs';
import {
  chmod,
  lchown,
  link,
  lutimes,
  mkdir,
  open,
  opendir,
  readdir,
  rm,
  symlink,
  unlink,
} from 'node:fs/promises';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { promisify } from 'node:util';

import { createDigestStream } from '@kiln/oci-spec';

import { openLayer, type LayerSource } from './decompress.js';
import { LayerError } from './errors.js';
import { cleanEntryName, lstatOrUndefined, RootResolver } from './safe-path.js';
import { TarReader, type TarEntry } from './tar-reader.js';
import { writeXattrs } from './xattrs.js';

const run = promisify(execFile);

/** Options of {@link applyLayer}: ownership, devices and xattrs. */
export interface ApplyLayerOptions {
  /** Create character and block devices; without it a device entry is an error (default false). */
  allowDevices?: boolean;
  /** Apply the uid and gid of entries (default: when running as root). */
  preserveOwnership?: boolean;
  /** Apply extended attributes (default true). */
  xattrs?: boolean;
  /**
   * Paths relative to the root, like `proc` or `etc/hosts`, that the layer must leave alone: entries
   * and whiteouts at or under them are skipped, and removals keep them. An entry that would replace a
   * directory containing one of them with a non-directory fails with `INVALID_PATH`.
   */
  keep?: readonly string[];
}

const WHITEOUT_PREFIX = '.wh.';
const OPAQUE_MARKER = '.wh..wh..opq';

/**
 * Applies a layer blob (tar, tar+gzip or tar+zstd, detected by magic bytes) to `rootfs`,
 * honouring OCI whiteouts, and returns the diffID of its tar stream. Names are resolved the way
 * a process chrooted to `rootfs` would see them, so no entry writes outside `rootfs`. Entries
 * that try (`..` above the root, a hardlink to a target outside) fail with a LayerError.
 * NOTE: mtimes are applied with microsecond precision, see `seconds` below.
 */
export async function applyLayer(
  source: LayerSource,
  rootfs: string,
  options: ApplyLayerOptions = {},
): Promise<{ diffId: string }> {
  const root = path.resolve(rootfs);
  const counter = createDigestStream();
  const applier = new LayerApplier(root, {
    allowDevices: options.allowDevices ?? false,
    preserveOwnership: options.preserveOwnership ?? process.getuid?.() === 0,
    xattrs: options.xattrs ?? true,
    keep: (options.keep ?? []).map((kept) => cleanEntryName(kept, 'kept path').join('/')),
  });
  try {
    const opened = await openLayer(source);
    await Promise.all([
      pipeline(opened.tar, counter, async (tar: AsyncIterable<Buffer>) => {
        const reader = new TarReader(tar);
        for (let entry = await reader.next(); entry !== undefined; entry = await reader.next()) {
          await applier.apply(entry, reader);
        }
      }),
      opened.exited,
    ]);
    await applier.finish();
  } catch (error) {
    throw asLayerError(error, root);
  }
  return { diffId: counter.digest() };
}

function replacesKept(name: string): LayerError {
  return new LayerError(
    'INVALID_PATH',
    `tar entry "${name}" would replace a directory that contains a kept path`,
    { hint: 'Leave the paths in `keep` out of the layer, or apply it to another root.' },
  );
}

/** Wraps a stream or file system failure; zlib's Z_* codes mean the blob is corrupt. */
function asLayerError(error: unknown, root: string): LayerError {
  if (error instanceof LayerError) return error;
  const code = (error as NodeJS.ErrnoException).code ?? '';
  if (code.startsWith('Z_') || code.startsWith('ERR_ZLIB')) {
    return new LayerError(
      'INVALID_TAR',
      `the layer's compressed data is invalid: ${(error as Error).message}`,
      {
        hint: 'The blob is truncated or corrupt; fetch it again.',
        cause: error,
      },
    );
  }
  return new LayerError(
    'APPLY_FAILED',
    `applying the layer to ${root} failed: ${(error as Error).message}`,
    {
      hint: 'Check that the root filesystem is writable and has room.',
      cause: error,
    },
  );
}

class LayerApplier {
  private readonly resolver: RootResolver;
  /** Paths written by this layer, which an opaque whiteout in the same layer keeps. */
  private readonly unpacked = new Set<string>();
  /** Every ancestor directory of an unpacked path. */
  private readonly unpackedAncestors = new Set<string>();
  private readonly directoryTimes: Array<{ hostPath: string; entry: TarEntry }> = [];

  constructor(
    private readonly root: string,
    private readonly options: Required<ApplyLayerOptions>,
  ) {
    this.resolver = new RootResolver(root);
  }

  async apply(entry: TarEntry, reader: TarReader): Promise<void> {
    const parts = cleanEntryName(entry.name);
    const relative = parts.join('/');
    if (parts.length === 0) {
      // The root's own entry ("./"): only its metadata is applied.
      if (entry.type === 'directory') {
        await this.applyMetadata(this.root, entry);
        this.directoryTimes.push({ hostPath: this.root, entry });
      }
      return;
    }
    const base = parts[parts.length - 1]!;
    const parentParts = parts.slice(0, -1);

    if (base === OPAQUE_MARKER) {
      const directory = await this.resolver.resolveDirectory(parentParts, entry.name, true);
      await this.clearOpaque(directory!, parentParts.join('/'));
      return;
    }
    if (base.startsWith(WHITEOUT_PREFIX)) {
      const victim = base.slice(WHITEOUT_PREFIX.length);
      // Other `.wh..wh.` names are AUFS bookkeeping that OCI layers must not rely on.
      if (victim.startsWith(WHITEOUT_PREFIX)) return;
      if (victim === '' || victim === '.' || victim === '..') {
        throw new LayerError(
          'INVALID_PATH',
          `tar entry "${entry.name}" is a whiteout with an invalid name`,
        );
      }
      const victimRelative = [...parentParts, victim].join('/');
      if (this.isKept(victimRelative)) return;
      const directory = await this.resolver.resolveDirectory(parentParts, entry.name, false);
      if (directory === undefined) return;
      const victimPath = path.join(directory, victim);
      await this.remove(victimPath, this.relativeTo(victimPath));
      return;
    }
    if (this.isKept(relative)) return;
    if (entry.type !== 'directory' && this.containsKept(relative)) throw replacesKept(entry.name);

    const directory = (await this.resolver.resolveDirectory(parentParts, entry.name, true))!;
    const hostPath = path.join(directory, base);
    // The parents may be symlinks, so the kept paths are checked again where the entry really lands.
    const resolved = this.relativeTo(hostPath);
    if (this.isKept(resolved)) return;
    if (entry.type !== 'directory' && this.containsKept(resolved)) throw replacesKept(entry.name);
    this.unpacked.add(relative);
    for (let index = 1; index < parts.length; index++)
      this.unpackedAncestors.add(parts.slice(0, index).join('/'));

    const existing = await lstatOrUndefined(hostPath);
    if (entry.type === 'directory') {
      if (existing?.isDirectory() !== true) {
        if (existing !== undefined) await this.remove(hostPath, resolved);
        await mkdir(hostPath, { mode: 0o700 });
      }
      await this.applyMetadata(hostPath, entry);
      this.directoryTimes.push({ hostPath, entry });
      return;
    }
    // Checks come before the existing entry is removed, so a rejected entry changes nothing.
    if ((entry.type === 'char' || entry.type === 'block') && !this.options.allowDevices) {
      throw new LayerError(
        'DEVICE_NOT_PERMITTED',
        `tar entry "${entry.name}" is a ${entry.type} device, which is not permitted`,
        {
          hint: 'Pass allowDevices: true to create device files, or rebuild the layer without them.',
        },
      );
    }
    const linkTarget = entry.type === 'hardlink' ? await this.hardlinkTarget(entry) : undefined;
    if (linkTarget === hostPath) return;
    if (existing !== undefined) await this.remove(hostPath, resolved);

    switch (entry.type) {
      case 'file':
        await this.writeFile(hostPath, entry, reader);
        return;
      case 'symlink':
        await symlink(entry.linkname, hostPath);
        await this.applyMetadata(hostPath, entry);
        return;
      case 'hardlink':
        await link(linkTarget!, hostPath);
        return;
      case 'fifo':
        await this.makeNode(hostPath, entry, 'mkfifo', ['-m', octal(entry.mode), hostPath]);
        return;
      case 'char':
      case 'block':
        await this.makeNode(hostPath, entry, 'mknod', [
          '-m',
          octal(entry.mode),
          hostPath,
          entry.type === 'char' ? 'c' : 'b',
          String(entry.devmajor),
          String(entry.devminor),
        ]);
        return;
    }
  }

  /** Sets directory mtimes last, because creating entries inside a directory changes its mtime. */
  async finish(): Promise<void> {
    for (const { hostPath, entry } of this.directoryTimes.reverse()) {
      const stats = await lstatOrUndefined(hostPath);
      if (stats?.isDirectory() === true)
        await lutimes(hostPath, seconds(entry.atimeNs ?? entry.mtimeNs), seconds(entry.mtimeNs));
    }
  }

  private async writeFile(hostPath: string, entry: TarEntry, reader: TarReader): Promise<void> {
    // O_EXCL and O_NOFOLLOW: the file is always new, never an existing inode or a symlink's target.
    const handle = await open(
      hostPath,
      constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW,
      0o600,
    );
    try {
      for await (const piece of reader.content()) await handle.write(piece);
      if (this.options.preserveOwnership) await handle.chown(entry.uid, entry.gid);
      await handle.chmod(entry.mode);
      if (this.options.xattrs && entry.xattrs.size > 0) writeXattrs(hostPath, entry.xattrs);
      await handle.utimes(seconds(entry.atimeNs ?? entry.mtimeNs), seconds(entry.mtimeNs));
    } finally {
      await handle.close();
    }
  }

  /** Applies owner, mode, xattrs and (except for directories) times to a path that is not followed. */
  private async applyMetadata(hostPath: string, entry: TarEntry): Promise<void> {
    if (this.options.preserveOwnership) await lchown(hostPath, entry.uid, entry.gid);
    // chown clears setuid and setgid, so the mode comes after it; symlinks have no mode of their own.
    if (entry.type !== 'symlink') await chmod(hostPath, entry.mode);
    if (this.options.xattrs && entry.xattrs.size > 0) writeXattrs(hostPath, entry.xattrs);
    if (entry.type !== 'directory')
      await lutimes(hostPath, seconds(entry.atimeNs ?? entry.mtimeNs), seconds(entry.mtimeNs));
  }

  /** Creates a FIFO or device with coreutils, because Node has no mknod. */
  private async makeNode(
    hostPath: string,
    entry: TarEntry,
    command: 'mkfifo' | 'mknod',
    args: string[],
  ): Promise<void> {
    try {
      await run(command, args);
    } catch (error) {
      throw new LayerError(
        'APPLY_FAILED',
        `cannot create ${entry.type} "${entry.name}": ${(error as Error).message}`,
        {
          hint: entry.type === 'fifo' ? undefined : 'Creating device files needs CAP_MKNOD.',
          cause: error,
        },
      );
    }
    await this.applyMetadata(hostPath, entry);
  }

  /** Resolves a hardlink's target inside the root; it must be an earlier, non-directory entry. */
  private async hardlinkTarget(entry: TarEntry): Promise<string> {
    const parts = cleanEntryName(entry.linkname, `hardlink target of "${entry.name}"`);
    const missing = (): LayerError =>
      new LayerError(
        'HARDLINK_TARGET',
        `hardlink "${entry.name}" points to "${entry.linkname}", which is not a file in the root filesystem`,
        {
          hint: 'A hardlink must name a file written earlier in the layer or present in the layers below.',
        },
      );
    if (parts.length === 0) throw missing();
    const directory = await this.resolver.resolveDirectory(parts.slice(0, -1), entry.name, false);
    if (directory === undefined) throw missing();
    const target = path.join(directory, parts[parts.length - 1]!);
    const stats = await lstatOrUndefined(target);
    if (stats === undefined || stats.isDirectory()) throw missing();
    return target;
  }

  /** Removes everything below `directory` that this layer did not write itself. */
  private async clearOpaque(directory: string, relative: string): Promise<void> {
    const handle = await opendir(directory);
    const doomed: string[] = [];
    for await (const dirent of handle) {
      const childRelative = relative === '' ? dirent.name : `${relative}/${dirent.name}`;
      const childPath = path.join(directory, dirent.name);
      if (this.unpackedAncestors.has(childRelative)) {
        if (dirent.isDirectory()) await this.clearOpaque(childPath, childRelative);
      } else if (!this.unpacked.has(childRelative)) {
        doomed.push(childPath);
      }
    }
    for (const childPath of doomed) await this.remove(childPath, this.relativeTo(childPath));
  }

  /** Removes `hostPath` (at `relative` in the root), keeping kept paths and the directories containing them. */
  private async remove(hostPath: string, relative: string): Promise<void> {
    if (this.isKept(relative)) return;
    const stats = await lstatOrUndefined(hostPath);
    if (stats === undefined) return;
    if (stats.isDirectory() && this.containsKept(relative)) {
      for (const name of await readdir(hostPath))
        await this.remove(path.join(hostPath, name), `${relative}/${name}`);
    } else if (stats.isDirectory()) {
      await rm(hostPath, { recursive: true, force: true });
    } else {
      await unlink(hostPath);
    }
    this.resolver.invalidate();
  }

  private relativeTo(hostPath: string): string {
    return path.relative(this.root, hostPath).split(path.sep).join('/');
  }

  private isKept(relative: string): boolean {
    return this.options.keep.some((kept) => relative === kept || relative.startsWith(`${kept}/`));
  }

  private containsKept(relative: string): boolean {
    return this.options.keep.some((kept) => kept.startsWith(`${relative}/`));
  }
}

/**
 * Converts nanoseconds to the seconds that Node's utimes functions take.
 * NOTE: libuv truncates these times to whole microseconds, so applied mtimes keep microsecond
 * precision only. Aiming at the middle of the microsecond keeps the double's rounding error
 * (about 0.12 µs at today's dates) from moving the result to the previous microsecond.
 */
function seconds(ns: bigint): number {
  const whole = ns / 1_000_000_000n;
  const microseconds = (ns - whole * 1_000_000_000n) / 1000n;
  return Number(whole) + (Number(microseconds) + 0.5) / 1e6;
}

function octal(mode: number): string {
  return (mode & 0o7777).toString(8);
}
