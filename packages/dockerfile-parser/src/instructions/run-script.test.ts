import { describe, expect, it } from 'vitest';
import { parseDockerfile } from '../stages/assemble.js';
import { runCommand } from './run-script.js';
import type { RunInstruction } from './types.js';

function firstRun(text: string): RunInstruction {
  const instruction = parseDockerfile(`FROM scratch\n${text}`).stages[0]?.instructions[0];
  if (instruction?.kind !== 'run') throw new Error('expected RUN');
  return instruction;
}

describe('runCommand', () => {
  it('passes shell and exec forms through', () => {
    expect(runCommand(firstRun('RUN echo $HOME\n'))).toEqual({
      kind: 'shell',
      script: 'echo $HOME',
    });
    expect(runCommand(firstRun('RUN ["ls", "-l"]\n'))).toEqual({
      kind: 'exec',
      args: ['ls', '-l'],
    });
  });

  it('runs a lone heredoc body through the shell', () => {
    expect(runCommand(firstRun('RUN <<EOF\necho one\necho two\nEOF\n'))).toEqual({
      kind: 'shell',
      script: 'echo one\necho two\n',
    });
  });

  it('runs a lone heredoc with a shebang as a file', () => {
    expect(
      runCommand(firstRun('RUN <<-"PY"\n\t#!/usr/bin/env python3\n\tprint(1)\n\tPY\n')),
    ).toEqual({
      kind: 'file',
      content: '#!/usr/bin/env python3\nprint(1)\n',
      name: 'PY',
    });
  });

  it('appends heredocs used as input to the command', () => {
    expect(runCommand(firstRun('RUN cat <<A >/a && cat <<B >/b\nfirst\nA\nsecond\nB\n'))).toEqual({
      kind: 'shell',
      script: 'cat <<A >/a && cat <<B >/b\nfirst\nA\nsecond\nB',
    });
  });
});
