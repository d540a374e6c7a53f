import { describe, expect, it } from 'vitest';
import { expandInstruction, parseDockerfile, resolveStageArgs } from './index.js';
import type { Instruction } from './index.js';

// Runs the expansion contract the way a builder does: one environment per stage, ENV and ARG
// applied after each instruction is expanded.
function expandStages(text: string, buildArgs: Record<string, string>): Instruction[][] {
  const parsed = parseDockerfile(text, {
    buildArgs,
    platform: { os: 'linux', architecture: 'arm64' },
  });
  return parsed.buildOrder.map((index) => {
    const env: Record<string, string> = {};
    return parsed.stages[index]!.instructions.map((raw) => {
      const instruction = expandInstruction(raw, env, { escapeToken: parsed.escapeToken });
      if (instruction.kind === 'env')
        for (const pair of instruction.pairs) env[pair.key] = pair.value;
      if (instruction.kind === 'arg') {
        for (const arg of resolveStageArgs(instruction, { buildArgs, ...parsed })) {
          if (arg.value !== undefined) env[arg.name] = arg.value;
        }
      }
      return instruction;
    });
  });
}

describe('expansion contract', () => {
  it('expands a multi-stage build the way Docker does', () => {
    const text = [
      'ARG APP=demo',
      'FROM golang:1.22 AS build',
      'ARG APP',
      'ARG TARGETARCH',
      'ENV OUT=/out/$APP-$TARGETARCH GOFLAGS="-trimpath"',
      'WORKDIR /src/${APP}',
      'RUN go build -o $OUT .',
      'FROM scratch',
      'ARG APP',
      'COPY --from=build /out/${APP}-* /bin/',
      'ENV A=1 B=$A',
      'LABEL org.opencontainers.image.title="$APP" b="$B"',
      'ENTRYPOINT ["/bin/app"]',
    ].join('\n');
    const [build, final] = expandStages(text, { APP: 'kiln' });

    expect(build).toMatchObject([
      { kind: 'arg' },
      { kind: 'arg' },
      {
        kind: 'env',
        pairs: [
          { key: 'OUT', value: '/out/kiln-arm64' },
          { key: 'GOFLAGS', value: '-trimpath' },
        ],
      },
      { kind: 'workdir', path: '/src/kiln' },
      { kind: 'run', command: { form: 'shell', command: 'go build -o $OUT .' } },
    ]);
    expect(final).toMatchObject([
      { kind: 'arg' },
      { kind: 'copy', from: 'build', sources: ['/out/kiln-*'], destination: '/bin/' },
      {
        kind: 'env',
        pairs: [
          { key: 'A', value: '1' },
          { key: 'B', value: '' },
        ],
      },
      {
        kind: 'label',
        pairs: [
          { key: 'org.opencontainers.image.title', value: 'kiln' },
          { key: 'b', value: '' },
        ],
      },
      { kind: 'entrypoint', command: { form: 'exec', args: ['/bin/app'] } },
    ]);
  });
});
