import { parseHeredocWord } from '../ast/heredoc.js';
import { ShellExpansionError } from '../shell/errors.js';
import type { RunInstruction } from './types.js';

/**
 * The command a RUN instruction executes: `shell` is a script for the stage's SHELL (`sh -c`),
 * `file` is a script with its own `#!` line to write to a file and execute, `exec` is an argv.
 */
export type RunCommand =
  | { kind: 'shell'; script: string }
  | { kind: 'file'; content: string; name: string }
  | { kind: 'exec'; args: string[] };

function isWholeCommandHeredoc(command: string, name: string): boolean {
  try {
    return parseHeredocWord(command.trim())?.name === name;
  } catch (error) {
    if (error instanceof ShellExpansionError) return false;
    throw error;
  }
}

/**
 * Builds the command a RUN runs, heredocs included, as BuildKit does. `RUN <<EOF` alone runs
 * the body: directly when it starts with `#!`, else through the shell. Otherwise the bodies
 * and delimiters are appended to the command, so the shell reads them as here-documents.
 */
export function runCommand(run: RunInstruction): RunCommand {
  if (run.command.form === 'exec') return { kind: 'exec', args: run.command.args };
  const { command } = run.command;
  const [only] = run.heredocs;
  if (
    run.heredocs.length === 1 &&
    only !== undefined &&
    isWholeCommandHeredoc(command, only.name)
  ) {
    if (only.content.startsWith('#!'))
      return { kind: 'file', content: only.content, name: only.name };
    return { kind: 'shell', script: only.content };
  }
  let script = command;
  for (const heredoc of run.heredocs) script += `\n${heredoc.content}${heredoc.name}`;
  return { kind: 'shell', script };
}
