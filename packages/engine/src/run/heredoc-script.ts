import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { RunInstruction } from '@kiln/dockerfile-parser';
import type { SandboxMount } from './chroot-command.js';

/** Directory in the sandbox where BuildKit puts a RUN here-document script that starts with `#!`. */
export const SCRIPT_DIR = '/dev/pipes';

/** A RUN command that is a single here-document and nothing else, such as `<<EOF` or `<<-'EOF'`. */
export const SINGLE_HEREDOC = /^<<-?(["']?)[A-Za-z0-9_]+\1$/;

/**
 * Returns the here-document of a RUN that is only `<<NAME` and whose body starts with `#!`: BuildKit
 * runs such a body as an executable file, so its interpreter line applies.
 */
export function shebangScript(
  instruction: RunInstruction,
): { name: string; content: string } | undefined {
  const { command, heredocs } = instruction;
  if (command.form === 'exec' || heredocs.length === 0) return undefined;
  const first = heredocs[0];
  if (!first || !SINGLE_HEREDOC.test(command.command.trim())) return undefined;
  return first.content.startsWith('#!') ? { name: first.name, content: first.content } : undefined;
}

/**
 * Writes the `#!` script of a RUN (mode 0755) into a scratch directory and returns the read-only
 * mount that shows it at /dev/pipes, inside the sandbox's own /dev, so it never reaches a layer.
 */
export async function prepareShebangScript(
  instruction: RunInstruction,
  scratchDir: string,
): Promise<{ mounts: SandboxMount[]; cleanup(): Promise<void> }> {
  const script = shebangScript(instruction);
  if (!script) return { mounts: [], cleanup: async () => {} };
  await mkdir(scratchDir, { recursive: true });
  const dir = await mkdtemp(path.join(scratchDir, 'script-'));
  await writeFile(path.join(dir, script.name), script.content, { mode: 0o755 });
  return {
    mounts: [{ kind: 'bind', source: dir, target: SCRIPT_DIR, readOnly: true }],
    cleanup: () => rm(dir, { recursive: true, force: true }),
  };
}
