import { describe, expect, it } from 'vitest';
import { DockerfileParseError } from '../errors.js';
import { expandInstruction } from '../instructions/expand.js';
import { parseDockerfile } from './assemble.js';

const linuxAmd64 = { os: 'linux', architecture: 'amd64' };

describe('parseDockerfile stages', () => {
  it('parses a simple file into typed instructions', () => {
    const parsed = parseDockerfile(
      [
        'FROM busybox:1.36',
        'ENV A=1 B="two words"',
        'WORKDIR /app',
        'COPY --chown=1:1 a.txt b.txt ./',
        'RUN echo hi && echo there',
        'RUN ["echo", "exec"]',
        'LABEL org.opencontainers.image.title=demo',
        'USER nobody',
        'EXPOSE 8080/tcp 53/udp',
        'ARG VERSION=1.0',
        'ENTRYPOINT ["/bin/sh", "-c"]',
        'CMD ["echo hello"]',
      ].join('\n'),
      { platform: linuxAmd64 },
    );
    expect(parsed.stages).toHaveLength(1);
    const [stage] = parsed.stages;
    expect(stage?.from).toEqual({
      image: 'busybox:1.36',
      platform: undefined,
      scratch: false,
      stageRef: undefined,
    });
    expect(stage?.instructions.map((instruction) => instruction.kind)).toEqual([
      'env',
      'workdir',
      'copy',
      'run',
      'run',
      'label',
      'user',
      'expose',
      'arg',
      'entrypoint',
      'cmd',
    ]);
    const copy = stage?.instructions[2];
    expect(copy).toMatchObject({
      kind: 'copy',
      sources: ['a.txt', 'b.txt'],
      destination: './',
      chown: '1:1',
      link: false,
    });
    expect(stage?.instructions[3]).toMatchObject({
      kind: 'run',
      command: { form: 'shell', command: 'echo hi && echo there' },
    });
    expect(stage?.instructions[4]).toMatchObject({
      kind: 'run',
      command: { form: 'exec', args: ['echo', 'exec'] },
    });
    expect(stage?.instructions[0]?.location).toEqual({
      file: 'Dockerfile',
      startLine: 2,
      endLine: 2,
    });
    expect(parsed.target.index).toBe(0);
  });

  it('expands ENV values and removes quotes', () => {
    const parsed = parseDockerfile('FROM scratch\nENV A=1 B="two $A"\n');
    const env = parsed.stages[0]?.instructions[0];
    if (env?.kind !== 'env') throw new Error('expected ENV');
    expect(expandInstruction(env, { A: 'x' }).pairs).toEqual([
      { key: 'A', value: '1' },
      { key: 'B', value: 'two x' },
    ]);
  });

  it('resolves global ARGs in FROM with build args', () => {
    const text = 'ARG BASE=alpine\nARG TAG=3.20\nFROM ${BASE}:${TAG} AS base\nFROM base\n';
    const parsed = parseDockerfile(text, { buildArgs: { TAG: '3.19' } });
    expect(parsed.stages[0]?.from.image).toBe('alpine:3.19');
    expect(parsed.stages[1]?.from.stageRef).toBe(0);
    expect(parsed.stages[1]?.dependsOn).toEqual([0]);
    expect(parsed.metaArgValues).toEqual({ BASE: 'alpine', TAG: '3.19' });
  });

  it('rejects unknown instructions with a hint', () => {
    let caught: unknown;
    try {
      parseDockerfile('FROM scratch\n\nCOPPY a b\n', { fileName: 'build/Dockerfile' });
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(DockerfileParseError);
    const error = caught as DockerfileParseError;
    expect(error.message).toBe(
      'build/Dockerfile:3: unknown instruction: COPPY (did you mean COPY?)',
    );
    expect(error.code).toBe('UNKNOWN_INSTRUCTION');
    expect(error.snippet).toContain('>>> 3 | COPPY a b');
  });
});

describe('parseDockerfile graph and target', () => {
  const text = [
    'FROM alpine AS base',
    'FROM base AS deps',
    'RUN --mount=type=bind,from=tools,target=/t true',
    'FROM golang AS tools',
    'FROM scratch AS final',
    'COPY --from=deps /a /a',
    'COPY --from=0 /b /b',
    'COPY --from=nginx:1 /c /c',
    'FROM alpine AS unused',
  ].join('\n');

  it('builds the dependency graph', () => {
    const parsed = parseDockerfile(text);
    expect(parsed.stages.map((stage) => stage.dependsOn)).toEqual([[], [0, 2], [], [0, 1], []]);
    expect(parsed.stages[3]?.imageDependencies).toEqual(['nginx:1']);
    expect(parsed.stages[3]?.from.scratch).toBe(true);
  });

  it('orders the stages a target needs', () => {
    expect(parseDockerfile(text, { target: 'final' }).buildOrder).toEqual([0, 2, 1, 3]);
    expect(parseDockerfile(text).buildOrder).toEqual([4]);
    expect(parseDockerfile(text, { target: 'DEPS' }).target.name).toBe('deps');
  });

  it('rejects an unknown target with its own code', () => {
    expect(() => parseDockerfile(text, { target: 'nope' })).toThrow(
      /target stage "nope" could not be found/,
    );
    expect(() => parseDockerfile(text, { target: 'nope' })).toThrow(
      expect.objectContaining({ code: 'UNKNOWN_TARGET' }),
    );
  });

  it('names no line for an unknown target', () => {
    let error: DockerfileParseError | undefined;
    try {
      parseDockerfile('FROM scratch AS a\nFROM busybox\n', { target: 'zzz' });
    } catch (caught) {
      error = caught as DockerfileParseError;
    }
    expect(error?.location).toBeUndefined();
    expect(error?.snippet).toBeUndefined();
    expect(error?.message).toBe('target stage "zzz" could not be found');
  });

  it('lists unnamed stages for an unknown target', () => {
    expect(() => parseDockerfile('FROM scratch AS a\nFROM busybox\n', { target: 'zzz' })).toThrow(
      expect.objectContaining({
        hint: 'Stages are: a, stage 1 (unnamed, FROM busybox). --target takes a stage name, so name an unnamed stage with FROM image AS name to build it.',
      }),
    );
  });

  it('rejects a dependency cycle and a bad index', () => {
    expect(() =>
      parseDockerfile('FROM a AS x\nCOPY --from=y / /\nFROM b AS y\nCOPY --from=x / /\n', {
        target: 'y',
      }),
    ).toThrow(/circular dependency detected on stage: y/);
    expect(() => parseDockerfile('FROM a\nCOPY --from=5 / /\n')).toThrow(/invalid stage index 5/);
  });

  it('rejects instructions before FROM other than ARG', () => {
    expect(() => parseDockerfile('RUN true\nFROM a\n')).toThrow(
      /Dockerfile:1: no build stage in current context/,
    );
  });

  it('provides the platform args to FROM', () => {
    const parsed = parseDockerfile(
      'FROM --platform=$BUILDPLATFORM golang AS build\nFROM alpine:$TARGETARCH\n',
      {
        platform: { os: 'linux', architecture: 'arm64', variant: 'v8' },
        buildPlatform: linuxAmd64,
      },
    );
    expect(parsed.stages[0]?.from.platform).toBe('linux/amd64');
    expect(parsed.stages[1]?.from.image).toBe('alpine:arm64');
    expect(parsed.platformArgs).toMatchObject({
      TARGETPLATFORM: 'linux/arm64/v8',
      TARGETVARIANT: 'v8',
      BUILDARCH: 'amd64',
    });
  });

  it('rejects a FROM that expands to nothing', () => {
    expect(() => parseDockerfile('ARG IMAGE\nFROM $IMAGE\n')).toThrow(
      /base name \(\$IMAGE\) should not be blank/,
    );
  });

  it('leaves undeclared build args out of FROM', () => {
    expect(
      parseDockerfile('FROM alpine:${TAG:-3}\n', { buildArgs: { TAG: '9' } }).stages[0]?.from.image,
    ).toBe('alpine:3');
  });

  it('returns a located error with a snippet', () => {
    let caught: unknown;
    try {
      parseDockerfile('FROM a\nRUN a\nENV X\nRUN b\n');
    } catch (error) {
      caught = error;
    }
    const error = caught as DockerfileParseError;
    expect(error.message).toBe('Dockerfile:3: ENV must have two arguments');
    expect(error.location).toEqual({ file: 'Dockerfile', startLine: 3, endLine: 3, column: 1 });
    expect(error.snippet).toBe(
      [
        '    1 | FROM a',
        '    2 | RUN a',
        '>>> 3 | ENV X',
        '      | ^',
        '    4 | RUN b',
        '    5 | ',
      ].join('\n'),
    );
  });

  it('marks the column of an instruction error', () => {
    let caught: unknown;
    try {
      parseDockerfile('FROM a\n  COPPY x y\n');
    } catch (error) {
      caught = error;
    }
    const error = caught as DockerfileParseError;
    expect(error.location).toEqual({ file: 'Dockerfile', startLine: 2, endLine: 2, column: 3 });
    expect(error.snippet).toBe(
      ['    1 | FROM a', '>>> 2 |   COPPY x y', '      |   ^', '    3 | '].join('\n'),
    );
  });
});
