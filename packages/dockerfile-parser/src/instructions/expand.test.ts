import { describe, expect, it } from 'vitest';
import { parseAst } from '../ast/parse.js';
import { DockerfileParseError } from '../errors.js';
import { expandInstruction, expandInstructionWithMatches } from './expand.js';
import { parseInstructionNode } from './parse-instruction.js';
import type { Instruction } from './types.js';

const env = { NAME: 'app', DIR: '/srv', PORTS: '80 443', EMPTY: '' };

function expandLine(line: string, escapeToken = '\\'): Instruction {
  const ast = parseAst(line);
  return expandInstruction(parseInstructionNode(ast.root.children[0]!), env, { escapeToken });
}

describe('expandInstruction', () => {
  it('expands ENV and LABEL keys and values', () => {
    expect(expandLine('ENV ${NAME}_HOME="$DIR/x y"')).toMatchObject({
      pairs: [{ key: 'app_HOME', value: '/srv/x y' }],
    });
    expect(expandLine('LABEL "$NAME.version"=1')).toMatchObject({
      pairs: [{ key: 'app.version', value: '1' }],
    });
  });

  it('expands COPY paths and flags', () => {
    expect(
      expandLine(
        'COPY --from=$NAME --chown=$NAME:$NAME --chmod=${MODE:-0755} $DIR/a ${DIR}/b $DIR/',
      ),
    ).toMatchObject({
      from: 'app',
      chown: 'app:app',
      chmod: '0755',
      sources: ['/srv/a', '/srv/b'],
      destination: '/srv/',
    });
    expect(expandLine('COPY ["$DIR/b c", "/d e/"]')).toMatchObject({
      sources: ['/srv/b c'],
      destination: '/d e/',
    });
  });

  it('expands heredoc sources with unquoted delimiters only, keeping quotes', () => {
    const copy = expandLine('COPY <<A <<"B" /dst/\nname="$NAME"\nA\nname=$NAME\nB\n');
    expect(copy).toMatchObject({
      sourceContents: [
        { name: 'A', content: 'name="app"\n' },
        { name: 'B', content: 'name=$NAME\n' },
      ],
    });
  });

  it('splits EXPOSE ports into words', () => {
    expect(expandLine('EXPOSE $PORTS 8080/udp')).toMatchObject({
      ports: ['80', '443', '8080/udp'],
    });
  });

  it('expands USER, WORKDIR, VOLUME, STOPSIGNAL and ARG defaults', () => {
    expect(expandLine('USER $NAME')).toMatchObject({ user: 'app' });
    expect(expandLine('WORKDIR $DIR/$NAME')).toMatchObject({ path: '/srv/app' });
    expect(expandLine('VOLUME $DIR/data')).toMatchObject({ paths: ['/srv/data'] });
    expect(expandLine('STOPSIGNAL ${SIG:-SIGQUIT}')).toMatchObject({ signal: 'SIGQUIT' });
    expect(expandLine('ARG A=$NAME B')).toMatchObject({
      args: [{ name: 'A', value: 'app' }, { name: 'B' }],
    });
  });

  it('leaves commands to the shell', () => {
    expect(expandLine('RUN echo $NAME')).toMatchObject({
      command: { form: 'shell', command: 'echo $NAME' },
    });
    expect(expandLine('CMD ["echo", "$NAME"]')).toMatchObject({
      command: { form: 'exec', args: ['echo', '$NAME'] },
    });
    expect(expandLine('ONBUILD RUN echo $NAME')).toMatchObject({ expression: 'RUN echo $NAME' });
  });

  it('expands RUN --mount values', () => {
    expect(expandLine('RUN --mount=type=cache,target=$DIR/cache,id=$NAME make')).toMatchObject({
      mounts: [
        {
          type: 'cache',
          target: '/srv/cache',
          id: 'app',
          spec: 'type=cache,target=/srv/cache,id=app',
        },
      ],
    });
  });

  it('uses the file escape token', () => {
    expect(expandLine('WORKDIR C:`$DIR\\x', '`')).toMatchObject({ path: 'C:$DIR\\x' });
  });

  it('reports unset names', () => {
    const ast = parseAst('ENV A=$MISSING B=$NAME');
    const { unmatched } = expandInstructionWithMatches(
      parseInstructionNode(ast.root.children[0]!),
      env,
    );
    expect([...unmatched]).toEqual(['MISSING']);
  });

  it('raises located errors for bad syntax', () => {
    const ast = parseAst('FROM a\nWORKDIR ${DIR');
    const workdir = parseInstructionNode(ast.root.children[1]!, 'Dockerfile');
    let caught: unknown;
    try {
      expandInstruction(workdir, env);
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(DockerfileParseError);
    expect((caught as DockerfileParseError).code).toBe('EXPANSION_FAILED');
    expect((caught as DockerfileParseError).message).toMatch(/^Dockerfile:2: failed to process/);
  });
});
