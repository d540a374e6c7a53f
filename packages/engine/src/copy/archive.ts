import { execFile } from 'node:child_process';
import { open } from 'node:fs/promises';
import { promisify } from 'node:util';
import { EngineError } from '../errors.js';

const run = promisify(execFile);

/** Magic bytes of the compressions ADD unpacks; a plain tar has `ustar` at offset 257. */
const MAGIC: Array<[string, number[]]> = [
  ['gzip', [0x1f, 0x8b]],
  ['bzip2', [0x42, 0x5a, 0x68]],
  ['xz', [0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00]],
];

/** Tells whether `file` is a tar archive, plain or gzip, bzip2 or xz compressed, by its first bytes as Docker does. */
export async function isLocalArchive(file: string): Promise<boolean> {
  const handle = await open(file, 'r');
  try {
    const header = Buffer.alloc(262);
    const { bytesRead } = await handle.read(header, 0, header.length, 0);
    if (
      MAGIC.some(
        ([, bytes]) => bytesRead >= bytes.length && bytes.every((byte, i) => header[i] === byte),
      )
    )
      return true;
    return bytesRead >= 262 && header.toString('latin1', 257, 262) === 'ustar';
  } finally {
    await handle.close();
  }
}

/**
 * Extracts `archive` into the empty directory `dir` with GNU tar, keeping owners and modes. GNU tar
 * drops leading `/` and refuses `..` members, so nothing lands outside `dir`.
 */
export async function extractArchive(archive: string, dir: string, program = 'tar'): Promise<void> {
  try {
    await run(program, [
      '-x',
      '-f',
      archive,
      '-C',
      dir,
      '--same-owner',
      '--same-permissions',
      '--numeric-owner',
    ]);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') {
      throw new EngineError(
        'ADD_ARCHIVE_FAILED',
        `Unpacking ${archive} for ADD needs the ${program} program, which was not found`,
        {
          hint:
            'Install GNU tar. With --isolation=none the programs under /usr are gone once / is ' +
            'emptied: COPY the archive and unpack it with RUN and the tar of the base image, or use ' +
            'the default chroot isolation.',
          cause: error,
        },
      );
    }
    throw new EngineError(
      'ADD_ARCHIVE_FAILED',
      `Unpacking ${archive} for ADD failed: ${(error as { stderr?: string }).stderr?.trim() ?? (error as Error).message}`,
      {
        hint: 'Check that the archive is a valid tar (gzip, bzip2 and xz need their programs installed).',
        cause: error,
      },
    );
  }
}
