import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';

export interface WorkDir {
  /** Holds the blob store, which outlives the build when the directory was configured. */
  root: string;
  /** This build's own files, removed at the end. */
  scratch: string;
  cleanup(): Promise<void>;
}

/** Opens the work dir: the configured one (its blob cache is kept), or a temporary one removed at the end. */
export async function openWorkDir(configuredDir: string | undefined): Promise<WorkDir> {
  const root = configuredDir
    ? path.resolve(configuredDir)
    : await mkdtemp(path.join(os.tmpdir(), 'kiln-'));
  const scratch = path.join(root, 'builds', randomBytes(8).toString('hex'));
  await mkdir(scratch, { recursive: true });
  return {
    root,
    scratch,
    cleanup: async () => {
      await rm(configuredDir ? scratch : root, { recursive: true, force: true });
    },
  };
}
