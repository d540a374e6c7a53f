import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { LocalDirectoryStore } from '@kiln/cache';
import { DirectoryContext } from '../context/build-context.js';
import type { BuildServices, StageRun } from '../stage/stage-run.js';
import { LayerCache } from './layer-cache.js';

/** Writes `files` (relative path to content) under `root`, creating directories. */
export async function writeTree(root: string, files: Record<string, string>): Promise<void> {
  await mkdir(root, { recursive: true });
  for (const [relative, content] of Object.entries(files)) {
    const file = path.join(root, relative);
    await mkdir(path.dirname(file), { recursive: true });
    await writeFile(file, content);
  }
}

/**
 * Builds the part of `BuildServices` that source keying reads: the context with its
 * `.dockerignore`, finished stages by name, and a layer cache in `dir` that queues stage changes.
 */
export async function keyServices(
  dir: string,
  contextDir: string,
  stages: Record<string, string> = {},
): Promise<{ services: BuildServices; stages: Map<string, StageRun> }> {
  const services = {
    context: await DirectoryContext.open(contextDir),
    stages: new Map<number, StageRun>(),
    stageNames: new Map<string, number>(),
    imageRootfs: () => Promise.reject(new Error('no images in this test')),
    layerCache: new LayerCache(new LocalDirectoryStore(path.join(dir, 'store')), {}, () => {}),
  } as unknown as BuildServices;
  const byName = new Map<string, StageRun>();
  for (const [index, [name, rootfs]] of Object.entries(stages).entries()) {
    const stage = { index, name, rootfs } as unknown as StageRun;
    services.stages.set(index, stage);
    services.stageNames.set(name, index);
    byName.set(name, stage);
  }
  return { services, stages: byName };
}
