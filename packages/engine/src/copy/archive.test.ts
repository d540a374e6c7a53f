import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterEach, describe, expect, it } from 'vitest';
import { EngineError } from '../errors.js';
import { extractArchive, isLocalArchive } from './archive.js';

const run = promisify(execFile);
let dir: string | undefined;
afterEach(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

async function archiveFixture(): Promise<{ archive: string; out: string }> {
  dir = await mkdtemp(path.join(tmpdir(), 'archive-'));
  await mkdir(path.join(dir, 'src'));
  await writeFile(path.join(dir, 'src', 'a.txt'), 'a\n');
  const archive = path.join(dir, 'a.tar.gz');
  await run('tar', ['-czf', archive, '-C', path.join(dir, 'src'), 'a.txt']);
  const out = path.join(dir, 'out');
  await mkdir(out);
  return { archive, out };
}

describe('extractArchive', () => {
  it('unpacks a gzip tar', async () => {
    const { archive, out } = await archiveFixture();
    expect(await isLocalArchive(archive)).toBe(true);
    await extractArchive(archive, out);
    expect(await readFile(path.join(out, 'a.txt'), 'utf8')).toBe('a\n');
  });

  it('names a missing tar program', async () => {
    const { archive, out } = await archiveFixture();
    const failure = await extractArchive(archive, out, 'kiln-no-such-tar').catch(
      (error: unknown) => error,
    );
    expect(failure).toBeInstanceOf(EngineError);
    expect((failure as EngineError).message).toContain('needs the kiln-no-such-tar program');
    expect((failure as EngineError).hint).toContain('--isolation=none');
  });
});
