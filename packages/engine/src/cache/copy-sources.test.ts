import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { parseDockerfile } from '@kiln/dockerfile-parser';
import type { CopyInstruction } from '@kiln/dockerfile-parser';
import { sha256Digest } from '@kiln/oci-spec';
import { makeTempDir, removeTempDir } from '@kiln/testkit';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { copySourcesForKey } from './copy-sources.js';
import { keyServices, writeTree } from './key-sources.fixture.js';

let tmp: string;
let context: string;
let builder: string;

beforeEach(async () => {
  tmp = await makeTempDir('kiln-copy-key-');
  context = path.join(tmp, 'context');
  builder = path.join(tmp, 'builder');
  await writeTree(context, { 'app.txt': 'app\n' });
  await writeTree(builder, { 'src/out.txt': 'artifact\n', 'src/obj/main.o': 'object one\n' });
});

afterEach(async () => {
  await removeTempDir(tmp);
});

function copyOf(line: string): CopyInstruction {
  const parsed = parseDockerfile(`FROM scratch\n${line}\n`);
  const instruction = parsed.stages[0]?.instructions[0];
  if (instruction?.kind !== 'copy') throw new Error(`not a COPY: ${line}`);
  return instruction;
}

async function keyOf(line: string) {
  const { services } = await keyServices(tmp, context, { builder });
  return copySourcesForKey(copyOf(line), services);
}

describe('copySourcesForKey with --from', () => {
  it('stage source lists copied files with owner', async () => {
    const sources = await keyOf('COPY --from=builder /src/out.txt /out.txt');
    expect(sources).toEqual([
      expect.objectContaining({
        path: 'src/out.txt',
        digest: sha256Digest('artifact\n'),
        uid: process.getuid?.(),
        gid: process.getgid?.(),
      }),
    ]);
  });

  it('stage change elsewhere leaves entries equal', async () => {
    const before = await keyOf('COPY --from=builder /src/out.txt /out.txt');
    await writeFile(path.join(builder, 'src/obj/main.o'), 'object two\n');
    const after = await keyOf('COPY --from=builder /src/out.txt /out.txt');
    expect(after).toEqual(before);
  });

  it('copied artifact change alters the entry', async () => {
    const before = await keyOf('COPY --from=builder /src/out.txt /out.txt');
    await writeFile(path.join(builder, 'src/out.txt'), 'artifact two\n');
    const after = await keyOf('COPY --from=builder /src/out.txt /out.txt');
    expect(after[0]?.digest).not.toBe(before[0]?.digest);
  });

  it('directory source walks the whole tree', async () => {
    const sources = await keyOf('COPY --from=builder /src /dest');
    expect(sources.map((source) => source.path).sort()).toEqual([
      'src',
      'src/obj',
      'src/obj/main.o',
      'src/out.txt',
    ]);
  });

  it('chown leaves owners out', async () => {
    const sources = await keyOf('COPY --from=builder --chown=1:1 /src/out.txt /out.txt');
    expect(sources[0]?.uid).toBeUndefined();
    expect(sources[0]?.gid).toBeUndefined();
  });

  it('context source leaves owners out', async () => {
    const sources = await keyOf('COPY app.txt /app.txt');
    expect(sources).toEqual([
      expect.objectContaining({ path: 'app.txt', digest: sha256Digest('app\n') }),
    ]);
    expect(sources[0]?.uid).toBeUndefined();
  });

  it('queued stage changes are applied before hashing', async () => {
    const { services, stages } = await keyServices(tmp, context, { builder });
    const stage = stages.get('builder');
    if (stage === undefined) throw new Error('fixture has no builder stage');
    services.layerCache?.defer(stage, () => writeTree(builder, { 'src/out.txt': 'from hit\n' }));
    const sources = await copySourcesForKey(
      copyOf('COPY --from=builder /src/out.txt /out.txt'),
      services,
    );
    expect(sources[0]?.digest).toBe(sha256Digest('from hit\n'));
  });

  it('missing stage file is rejected', async () => {
    await expect(keyOf('COPY --from=builder /src/absent /x')).rejects.toMatchObject({
      code: 'CONTEXT_FILE_NOT_FOUND',
    });
  });
});
