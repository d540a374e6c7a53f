import { describe, expect, it } from 'vitest';
import { parseAst } from '../ast/parse.js';
import { DockerfileParseError } from '../errors.js';
import { parseInstructionNode } from './parse-instruction.js';
import type { Instruction } from './types.js';

function parseLine(line: string): Instruction {
  const node = parseAst(line).root.children[0];
  if (node === undefined) throw new Error('no node');
  return parseInstructionNode(node, 'Dockerfile');
}

function errorOf(line: string): DockerfileParseError {
  try {
    parseLine(line);
  } catch (error) {
    if (error instanceof DockerfileParseError) return error;
    throw error;
  }
  throw new Error(`expected ${line} to fail`);
}

describe('FROM', () => {
  it('reads platform and stage name', () => {
    expect(parseLine('FROM --platform=$BUILDPLATFORM golang:1.22 AS Build')).toMatchObject({
      kind: 'from',
      image: 'golang:1.22',
      platform: '$BUILDPLATFORM',
      stageName: 'build',
    });
  });

  it('rejects a bad arity and bad stage names', () => {
    expect(errorOf('FROM a b').message).toContain('FROM requires either one or three arguments');
    expect(errorOf('FROM a AS 1st').message).toContain('invalid name for build stage');
  });
});

describe('RUN', () => {
  it('reads mounts, network and security', () => {
    const run = parseLine(
      'RUN --mount=type=cache,target=/root/.cache,sharing=locked --mount=type=secret,id=npm,env=TOKEN --network=none --security=insecure make',
    );
    expect(run).toMatchObject({
      kind: 'run',
      network: 'none',
      security: 'insecure',
      command: { form: 'shell', command: 'make' },
      mounts: [
        { type: 'cache', target: '/root/.cache', sharing: 'locked', readonly: false },
        { type: 'secret', id: 'npm', env: 'TOKEN' },
      ],
    });
  });

  it('defaults bind mounts to read-only', () => {
    const run = parseLine('RUN --mount=target=/src,from=builder,rw=false ls');
    expect(run).toMatchObject({
      mounts: [{ type: 'bind', target: '/src', from: 'builder', readonly: true }],
    });
  });

  it('rejects bad flags', () => {
    expect(errorOf('RUN --network=bridge true').code).toBe('INVALID_FLAG');
    expect(errorOf('RUN --mount=type=nfs,target=/x true').message).toContain(
      'unsupported mount type',
    );
    expect(errorOf('RUN --mount=type=cache true').message).toContain('requires a target');
    expect(errorOf('RUN --mount=type=cache,target=/x,colour=red true').message).toContain(
      "unexpected key 'colour'",
    );
    expect(errorOf('RUN --nope true').message).toBe('Dockerfile:1: unknown flag: --nope on RUN');
    expect(errorOf('RUN --network true').message).toContain('missing a value on flag: --network');
  });

  it('requires a command', () => {
    expect(errorOf('RUN').message).toContain('RUN requires at least one argument');
  });

  it('chomps heredoc bodies for <<-', () => {
    const run = parseLine('RUN <<-EOF\n\techo hi\n\tEOF\n');
    expect(run).toMatchObject({ heredocs: [{ name: 'EOF', content: 'echo hi\n', chomp: true }] });
  });
});

describe('COPY and ADD', () => {
  it('reads every COPY flag', () => {
    expect(
      parseLine(
        'COPY --from=build --chown=app:app --chmod=0644 --link --parents --exclude=*.md --exclude=tmp a b /dst/',
      ),
    ).toMatchObject({
      kind: 'copy',
      from: 'build',
      chown: 'app:app',
      chmod: '0644',
      link: true,
      parents: true,
      exclude: ['*.md', 'tmp'],
      sources: ['a', 'b'],
      destination: '/dst/',
    });
  });

  it('reads the JSON form with spaces', () => {
    expect(parseLine('COPY ["a b", "/c d/"]')).toMatchObject({
      sources: ['a b'],
      destination: '/c d/',
    });
  });

  it('reads ADD flags', () => {
    expect(
      parseLine('ADD --checksum=sha256:abc --keep-git-dir=true --link=false https://x/y.tar /y'),
    ).toMatchObject({
      kind: 'add',
      checksum: 'sha256:abc',
      keepGitDir: true,
      link: false,
    });
  });

  it('turns heredoc sources into files', () => {
    const copy = parseLine('COPY <<one <<"two" /dst/\nfirst $X\none\nsecond\ntwo\n');
    expect(copy).toMatchObject({
      sources: [],
      sourceContents: [
        { name: 'one', content: 'first $X\n', expand: true },
        { name: 'two', content: 'second\n', expand: false },
      ],
    });
  });

  it('treats an unbalanced heredoc word as a path', () => {
    expect(parseLine('COPY <<"abc /x')).toMatchObject({ sources: ['<<"abc'], sourceContents: [] });
  });

  it('rejects bad arguments and flags', () => {
    expect(errorOf('COPY a').message).toContain('COPY requires at least two arguments');
    expect(errorOf('COPY --chmod=999 a b').message).toContain('invalid chmod');
    expect(errorOf('ADD --from=x a b').message).toContain('unknown flag: --from on ADD');
    expect(errorOf('COPY --link=maybe a b').message).toContain('expecting boolean value');
    expect(errorOf('COPY --from=a --from=b x y').message).toContain('duplicate flag');
  });
});

describe('ENV, LABEL and ARG', () => {
  it('reads pairs in both forms', () => {
    expect(parseLine('ENV A=1 B="2 3"')).toMatchObject({
      pairs: [
        { key: 'A', value: '1' },
        { key: 'B', value: '"2 3"' },
      ],
      legacyForm: false,
    });
    expect(parseLine('ENV A 1 2')).toMatchObject({
      pairs: [{ key: 'A', value: '1 2' }],
      legacyForm: true,
    });
    expect(parseLine('LABEL a=b')).toMatchObject({
      kind: 'label',
      pairs: [{ key: 'a', value: 'b' }],
    });
  });

  it('reads ARG with and without defaults', () => {
    expect(parseLine('ARG A B=2 C=')).toMatchObject({
      args: [{ name: 'A' }, { name: 'B', value: '2' }, { name: 'C', value: '' }],
    });
  });

  it('rejects missing values and names', () => {
    expect(errorOf('ENV A').message).toContain('ENV must have two arguments');
    expect(errorOf('ENV A=1 B').message).toContain("can't find = in");
    expect(errorOf('ENV =1').message).toContain('names can not be blank');
    expect(errorOf('ARG').message).toContain('ARG requires at least one argument');
    expect(errorOf('LABEL').message).toContain('LABEL requires at least one argument');
  });
});

describe('command instructions', () => {
  it('reads CMD and ENTRYPOINT forms', () => {
    expect(parseLine('CMD ["a", "b"]')).toMatchObject({
      command: { form: 'exec', args: ['a', 'b'] },
    });
    expect(parseLine('CMD []')).toMatchObject({ command: { form: 'exec', args: [] } });
    expect(parseLine('ENTRYPOINT exec top -b')).toMatchObject({
      kind: 'entrypoint',
      command: { form: 'shell', command: 'exec top -b' },
    });
  });

  it('requires JSON for SHELL', () => {
    expect(parseLine('SHELL ["/bin/bash", "-c"]')).toMatchObject({ shell: ['/bin/bash', '-c'] });
    expect(errorOf('SHELL /bin/bash -c').message).toContain(
      'SHELL requires the arguments to be in JSON form',
    );
  });

  it('rejects flags where none are accepted', () => {
    expect(errorOf('CMD --doit ["a"]').message).toContain('unknown flag: --doit on CMD');
  });

  it('rejects a JSON array of non-strings', () => {
    expect(errorOf('CMD ["a", 1]').message).toContain('arrays must be comprised of strings only');
  });
});

describe('HEALTHCHECK', () => {
  it('reads options in nanoseconds', () => {
    expect(
      parseLine(
        'HEALTHCHECK --interval=1m30s --timeout=500ms --start-period=2s --start-interval=1.5s --retries=4 CMD curl -f http://localhost/',
      ),
    ).toEqual(
      expect.objectContaining({
        test: ['CMD-SHELL', 'curl -f http://localhost/'],
        interval: 90e9,
        timeout: 500e6,
        startPeriod: 2e9,
        startInterval: 1.5e9,
        retries: 4,
      }),
    );
    expect(parseLine('HEALTHCHECK CMD ["check", "-q"]')).toMatchObject({
      test: ['CMD', 'check', '-q'],
    });
    expect(parseLine('healthcheck none')).toMatchObject({ test: ['NONE'] });
  });

  it('rejects bad options and types', () => {
    expect(errorOf('HEALTHCHECK --interval=10 CMD x').message).toContain('invalid duration');
    expect(errorOf('HEALTHCHECK --interval=10us CMD x').message).toContain(
      'cannot be less than 1ms',
    );
    expect(errorOf('HEALTHCHECK --retries=-1 CMD x').message).toContain('cannot be negative');
    expect(errorOf('HEALTHCHECK CONNECT TCP 7000').message).toContain('unknown type');
    expect(errorOf('HEALTHCHECK NONE x').message).toContain('takes no arguments');
    expect(errorOf('HEALTHCHECK CMD').message).toContain('missing command');
    expect(errorOf('HEALTHCHECK').message).toContain('requires at least one argument');
  });
});

describe('other instructions', () => {
  it('reads single-value instructions', () => {
    expect(parseLine('USER app:app')).toMatchObject({ kind: 'user', user: 'app:app' });
    expect(parseLine('WORKDIR /srv/my app')).toMatchObject({
      kind: 'workdir',
      path: '/srv/my app',
    });
    expect(parseLine('STOPSIGNAL SIGTERM')).toMatchObject({
      kind: 'stopsignal',
      signal: 'SIGTERM',
    });
    expect(parseLine('MAINTAINER me <me@example.com>')).toMatchObject({
      kind: 'maintainer',
      maintainer: 'me <me@example.com>',
    });
    expect(parseLine('EXPOSE 80 443/tcp')).toMatchObject({
      kind: 'expose',
      ports: ['80', '443/tcp'],
    });
    expect(parseLine('VOLUME ["/a", "/b"]')).toMatchObject({ kind: 'volume', paths: ['/a', '/b'] });
  });

  it('wraps an ONBUILD trigger', () => {
    expect(parseLine('ONBUILD COPY . /app')).toMatchObject({
      kind: 'onbuild',
      expression: 'COPY . /app',
      trigger: { kind: 'copy', sources: ['.'], destination: '/app' },
    });
  });

  it('rejects forbidden ONBUILD triggers', () => {
    expect(errorOf('ONBUILD ONBUILD RUN x').message).toContain(
      "Chaining ONBUILD via `ONBUILD ONBUILD` isn't allowed",
    );
    expect(errorOf('ONBUILD FROM x').message).toContain("FROM isn't allowed as an ONBUILD trigger");
    expect(errorOf('ONBUILD MAINTAINER x').message).toContain("MAINTAINER isn't allowed");
    expect(errorOf('ONBUILD').message).toContain('ONBUILD requires at least one argument');
  });

  it('accepts any keyword casing', () => {
    expect(parseLine('wOrKdIr /x')).toMatchObject({ kind: 'workdir', keyword: 'wOrKdIr' });
  });

  it('suggests the closest instruction', () => {
    expect(errorOf('ENTRYPONT x').message).toBe(
      'Dockerfile:1: unknown instruction: ENTRYPONT (did you mean ENTRYPOINT?)',
    );
    expect(errorOf('XYZZY x').message).toBe('Dockerfile:1: unknown instruction: XYZZY');
  });
});

describe('ONBUILD heredocs', () => {
  it('gives the trigger its heredoc bodies', () => {
    expect(parseLine('ONBUILD COPY <<EOF /etc/motd\nhello\nEOF\n')).toMatchObject({
      trigger: { kind: 'copy', sources: [], sourceContents: [{ name: 'EOF', content: 'hello\n' }] },
    });
  });
});

describe('description comments', () => {
  it('reads stage and ARG descriptions from the comments above', () => {
    const text = [
      '# foo sets foo',
      'ARG foo=bar',
      '',
      '# base defines first stage',
      'FROM busybox AS base',
      '# this is irrelevant',
      'ARG foo',
      '# bar defines bar',
      '# baz is something else',
      'ARG bar baz=123',
    ].join('\n');
    const nodes = parseAst(text).root.children;
    const [metaArg, from, stageArg, twoArgs] = nodes.map((node) => parseInstructionNode(node));
    expect(metaArg).toMatchObject({ args: [{ name: 'foo', value: 'bar', comment: 'sets foo' }] });
    expect(from).toMatchObject({ stageName: 'base', comment: 'defines first stage' });
    expect(stageArg).toEqual(expect.objectContaining({ args: [{ name: 'foo' }] }));
    expect(twoArgs).toMatchObject({
      args: [
        { name: 'bar', comment: 'defines bar' },
        { name: 'baz', value: '123', comment: 'is something else' },
      ],
    });
  });
});
