import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { DockerfileParseError, parseInstructionNode } from '@kiln/dockerfile-parser';
import { API_VERSION } from '@kiln/plugin-api';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { IncludeError } from './errors.js';
import includePlugin from './index.js';
import { expandDockerfile, type ExpandedNode } from './testing/expand-driver.js';
import { directoryContext } from './testing/directory-context.js';

let root: string;

beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), 'kiln-include-'));
});

afterEach(async () => {
  await rm(root, { recursive: true, force: true });
});

async function writeFiles(files: Record<string, string>): Promise<void> {
  for (const [path, text] of Object.entries(files)) {
    await mkdir(dirname(join(root, path)), { recursive: true });
    await writeFile(join(root, path), text);
  }
}

// Expands the context's Dockerfile with the include plugin, as the engine's expand phase does.
async function expand(args: Record<string, string> = {}): Promise<ExpandedNode[]> {
  const context = directoryContext(root);
  const text = await context.readText('Dockerfile');
  return expandDockerfile(text, 'Dockerfile', includePlugin.instructions, { context, args });
}

function summary(nodes: ExpandedNode[]): string[] {
  return nodes.map(({ node, file }) => `${file}:${node.startLine} ${node.original}`);
}

async function expandError(args: Record<string, string> = {}): Promise<IncludeError> {
  const error = await expand(args).then(
    () => undefined,
    (caught: unknown) => caught,
  );
  expect(error).toBeInstanceOf(IncludeError);
  return error as IncludeError;
}

describe('INCLUDE', () => {
  it('splices a file in place', async () => {
    await writeFiles({
      Dockerfile: 'FROM busybox\nINCLUDE common.Dockerfile\nCMD ["sh"]\n',
      'common.Dockerfile': '# shared setup\nENV A=1\nRUN echo hi\n',
    });
    expect(summary(await expand())).toEqual([
      'Dockerfile:1 FROM busybox',
      'common.Dockerfile:2 ENV A=1',
      'common.Dockerfile:3 RUN echo hi',
      'Dockerfile:3 CMD ["sh"]',
    ]);
  });

  it('resolves nested includes from the including file', async () => {
    await writeFiles({
      Dockerfile: 'FROM busybox\ninclude parts/a.Dockerfile\nUSER nobody\n',
      'parts/a.Dockerfile': 'RUN echo a\nINCLUDE b.Dockerfile\n',
      'parts/b.Dockerfile': 'RUN echo b\nINCLUDE /top.Dockerfile\n',
      'top.Dockerfile': 'WORKDIR /top\n',
    });
    expect(summary(await expand())).toEqual([
      'Dockerfile:1 FROM busybox',
      'parts/a.Dockerfile:1 RUN echo a',
      'parts/b.Dockerfile:1 RUN echo b',
      'top.Dockerfile:1 WORKDIR /top',
      'Dockerfile:3 USER nobody',
    ]);
  });

  it('includes one file twice when no cycle forms', async () => {
    await writeFiles({
      Dockerfile: 'FROM a\nINCLUDE x.Dockerfile\nFROM b\nINCLUDE x.Dockerfile\n',
      'x.Dockerfile': 'RUN x\n',
    });
    expect(summary(await expand())).toEqual([
      'Dockerfile:1 FROM a',
      'x.Dockerfile:1 RUN x',
      'Dockerfile:3 FROM b',
      'x.Dockerfile:1 RUN x',
    ]);
  });

  it('expands build args in the path', async () => {
    await writeFiles({
      Dockerfile: 'FROM busybox\nINCLUDE ${VARIANT:-plain}.Dockerfile\n',
      'debug.Dockerfile': 'ENV DEBUG=1\n',
      'plain.Dockerfile': 'ENV DEBUG=0\n',
    });
    expect(summary(await expand({ VARIANT: 'debug' }))).toContain('debug.Dockerfile:1 ENV DEBUG=1');
    expect(summary(await expand())).toContain('plain.Dockerfile:1 ENV DEBUG=0');
  });

  it('accepts a quoted path with spaces', async () => {
    await writeFiles({
      Dockerfile: 'FROM busybox\nINCLUDE "my steps.Dockerfile"\n',
      'my steps.Dockerfile': 'RUN true\n',
    });
    expect(summary(await expand())).toContain('my steps.Dockerfile:1 RUN true');
  });

  it('skips a missing optional file', async () => {
    await writeFiles({
      Dockerfile: 'FROM busybox\nINCLUDE --optional local.Dockerfile\nRUN true\n',
    });
    expect(summary(await expand())).toEqual(['Dockerfile:1 FROM busybox', 'Dockerfile:3 RUN true']);
  });

  it('accepts a file of comments only', async () => {
    await writeFiles({
      Dockerfile: 'FROM busybox\nINCLUDE notes.Dockerfile\nRUN true\n',
      'notes.Dockerfile': '# nothing to run yet\n',
    });
    expect(summary(await expand())).toEqual(['Dockerfile:1 FROM busybox', 'Dockerfile:3 RUN true']);
  });
});

describe('INCLUDE errors', () => {
  it('names the chain of a cycle', async () => {
    await writeFiles({
      Dockerfile: 'FROM busybox\nINCLUDE a.Dockerfile\n',
      'a.Dockerfile': 'RUN a\nINCLUDE b.Dockerfile\n',
      'b.Dockerfile': '\nRUN b\nINCLUDE a.Dockerfile\n',
    });
    const error = await expandError();
    expect(error.code).toBe('INCLUDE_CYCLE');
    expect(error.message).toBe(
      'b.Dockerfile:3: INCLUDE cycle: Dockerfile -> a.Dockerfile -> b.Dockerfile -> a.Dockerfile',
    );
    expect(error.location).toEqual({ file: 'b.Dockerfile', startLine: 3, endLine: 3 });
  });

  it('rejects a file that includes itself', async () => {
    await writeFiles({
      Dockerfile: 'FROM busybox\nINCLUDE self.Dockerfile\n',
      'self.Dockerfile': 'INCLUDE ./self.Dockerfile\n',
    });
    const error = await expandError();
    expect(error.code).toBe('INCLUDE_CYCLE');
    expect(error.message).toContain('self.Dockerfile -> self.Dockerfile');
  });

  it('reports a missing file where it is included', async () => {
    await writeFiles({
      Dockerfile: 'FROM busybox\nINCLUDE parts/a.Dockerfile\n',
      'parts/a.Dockerfile': 'RUN a\n\nINCLUDE missing.Dockerfile\n',
    });
    const error = await expandError();
    expect(error.code).toBe('FILE_NOT_FOUND');
    expect(error.message).toBe(
      'parts/a.Dockerfile:3: included file parts/missing.Dockerfile not found in the build context',
    );
    expect(error.hint).toContain('--optional');
  });

  it('locates a bad instruction in the included file', async () => {
    await writeFiles({
      Dockerfile: 'FROM busybox\nINCLUDE common.Dockerfile\n',
      'common.Dockerfile': 'ENV A=1\n# a comment\nRUNN echo hi\n',
    });
    const nodes = await expand();
    const error = (() => {
      try {
        for (const { node, file } of nodes) parseInstructionNode(node, file);
      } catch (caught) {
        return caught;
      }
      return undefined;
    })();
    expect(error).toBeInstanceOf(DockerfileParseError);
    expect((error as DockerfileParseError).location).toMatchObject({
      file: 'common.Dockerfile',
      startLine: 3,
    });
    expect((error as DockerfileParseError).message).toMatch(
      /^common\.Dockerfile:3: unknown instruction: RUNN/,
    );
  });

  it('locates a syntax error in the included file', async () => {
    await writeFiles({
      Dockerfile: 'FROM busybox\nINCLUDE broken.Dockerfile\n',
      'broken.Dockerfile': 'RUN true\nRUN <<EOF\necho never ends\n',
    });
    const error = await expand().then(
      () => undefined,
      (caught: unknown) => caught,
    );
    expect(error).toBeInstanceOf(DockerfileParseError);
    expect((error as DockerfileParseError).location?.file).toBe('broken.Dockerfile');
    expect((error as DockerfileParseError).message).toMatch(/^broken\.Dockerfile:\d+: /);
  });

  it('rejects an escape directive in an included file', async () => {
    await writeFiles({
      Dockerfile: 'FROM busybox\nINCLUDE win.Dockerfile\n',
      'win.Dockerfile': '# syntax=docker/dockerfile:1\n# escape=`\nRUN dir\n',
    });
    const error = await expandError();
    expect(error.code).toBe('ESCAPE_DIRECTIVE');
    expect(error.location).toEqual({ file: 'win.Dockerfile', startLine: 2, endLine: 2 });
  });

  it('ignores an escape comment below the directives', async () => {
    await writeFiles({
      Dockerfile: 'FROM busybox\nINCLUDE steps.Dockerfile\n',
      'steps.Dockerfile': 'RUN true\n# escape=`\n',
    });
    expect(summary(await expand())).toContain('steps.Dockerfile:1 RUN true');
  });

  it.each([
    ['a path above the context', 'INCLUDE ../outside.Dockerfile', 'OUTSIDE_CONTEXT'],
    ['a directory', 'INCLUDE parts', 'NOT_A_FILE'],
    ['no path', 'INCLUDE', 'INVALID_ARGUMENTS'],
    ['an empty variable', 'INCLUDE $UNSET', 'INVALID_ARGUMENTS'],
    ['two paths', 'INCLUDE a b', 'INVALID_ARGUMENTS'],
    ['an unknown flag', 'INCLUDE --from=x a', 'INVALID_ARGUMENTS'],
  ])('rejects %s', async (_case, line, code) => {
    await writeFiles({ Dockerfile: `FROM busybox\n${line}\n`, 'parts/a.Dockerfile': 'RUN a\n' });
    const error = await expandError();
    expect(error.code).toBe(code);
    expect(error.location).toEqual({ file: 'Dockerfile', startLine: 2, endLine: 2 });
    expect(error.message.startsWith('Dockerfile:2: ')).toBe(true);
  });
});

describe('include plugin', () => {
  it('stops when the build is cancelled', async () => {
    await writeFiles({
      Dockerfile: 'FROM busybox\nINCLUDE a.Dockerfile\n',
      'a.Dockerfile': 'RUN a\n',
    });
    const context = directoryContext(root);
    const controller = new AbortController();
    controller.abort(new Error('cancelled by the user'));
    const expansion = expandDockerfile(
      await context.readText('Dockerfile'),
      'Dockerfile',
      includePlugin.instructions,
      { context, signal: controller.signal },
    );
    await expect(expansion).rejects.toThrow('cancelled by the user');
  });

  it('declares an expand handler for INCLUDE', () => {
    expect(includePlugin.name).toBe('@kiln-examples/include');
    expect(includePlugin.apiVersion).toBe('^1.0.0');
    expect(API_VERSION.startsWith('1.')).toBe(true);
    expect(includePlugin.instructions.map((handler) => [handler.phase, handler.keyword])).toEqual([
      ['expand', 'include'],
    ]);
  });
});
