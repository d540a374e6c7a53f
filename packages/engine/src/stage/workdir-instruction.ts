import path from 'node:path';
import type { WorkdirInstruction } from '@kiln/dockerfile-parser';
import type { ChangeSet } from '@kiln/layer-writer';
import { CopyRecorder, ensureDirectory } from '../copy/copy-into-rootfs.js';
import type { StageRun } from './stage-run.js';

/**
 * Sets the working directory (relative to the previous one) and creates it when missing. The change
 * set is empty when the directory already existed, so that step adds no layer.
 */
export async function executeWorkdir(
  run: StageRun,
  instruction: WorkdirInstruction,
): Promise<ChangeSet> {
  const workingDir = path.posix.resolve('/', run.meta.config.WorkingDir || '/', instruction.path);
  run.meta.config.WorkingDir = workingDir;

  const recorder = new CopyRecorder(run.rootfs);
  // NOTE: created directories belong to root; BuildKit gives them to the current USER.
  const { created } = await ensureDirectory(run.rootfs, workingDir, recorder);
  if (!created) return { root: run.rootfs, entries: [] };
  run.baselineCurrent = false;
  return { root: run.rootfs, entries: recorder.entries };
}
