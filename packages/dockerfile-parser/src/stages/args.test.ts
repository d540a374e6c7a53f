import { describe, expect, it } from 'vitest';
import { expandInstruction } from '../instructions/expand.js';
import { parseDockerfile } from './assemble.js';
import { resolveStageArgs } from './args.js';

describe('resolveStageArgs', () => {
  const text =
    'ARG GLOBAL=g\nFROM scratch\nARG GLOBAL\nARG LOCAL=l-$GLOBAL\nARG TARGETARCH\nARG OVERRIDE=default\nARG UNSET\n';

  it('applies build args, defaults, global and platform values', () => {
    const buildArgs = { OVERRIDE: 'from-cli' };
    const parsed = parseDockerfile(text, {
      buildArgs,
      platform: { os: 'linux', architecture: 'riscv64' },
    });
    const env: Record<string, string> = {};
    const resolved = parsed.stages[0]!.instructions.map((instruction) => {
      if (instruction.kind !== 'arg') throw new Error('expected ARG');
      const args = resolveStageArgs(expandInstruction(instruction, env), { buildArgs, ...parsed });
      for (const arg of args) if (arg.value !== undefined) env[arg.name] = arg.value;
      return args;
    });
    expect(resolved).toEqual([
      [{ name: 'GLOBAL', value: 'g' }],
      [{ name: 'LOCAL', value: 'l-g' }],
      [{ name: 'TARGETARCH', value: 'riscv64' }],
      [{ name: 'OVERRIDE', value: 'from-cli' }],
      [{ name: 'UNSET' }],
    ]);
  });
});
