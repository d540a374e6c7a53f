import path from 'node:path';
import type { WorkdirInstruction } from '@kiln/dockerfile-parser';
import type { ChangeSet } from '@kiln/layer-writer';
import { CopyRecorder, ensureDirectory } from '../copy/copy-into-rootfs.js';
import { resolveIdentityInRoot } from '../run/users.js';
import type { StageRun } from './stage-run.js';

/**
 * Sets the working directory (relative to the previous one) and creates it, owned by the current
 * USER, when missing. The change set is empty when the directory already existed, so that step adds no layer.
 */
export async function executeWorkdir(
  run: StageRun,
  instruction: WorkdirInstruction,
): Promise<ChangeSet> {
  const workingDir = path.posix.resolve('/', run.meta.config.WorkingDir || '/', instruction.path);
  run.meta.config.WorkingDir = workingDir;

  const recorder = new CopyRecorder(run.rootfs);
  // BuildKit creates the directories as the current USER.
  const user = run.meta.config.User;
  const owner = user ? await resolveIdentityInRoot(run.rootfs, user) : { uid: 0, gid: 0 };
  const { created } = await ensureDirectory(run.rootfs, workingDir, recorder, owner);
  if (!created) return { root: run.rootfs, entries: [] };
  run.baselineCurrent = false;
  return { root: run.rootfs, entries: recorder.entries };
}
