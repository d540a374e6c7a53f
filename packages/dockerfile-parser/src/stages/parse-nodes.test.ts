import { describe, expect, it } from 'vitest';
import { parseAst } from '../ast/parse.js';
import { DockerfileParseError } from '../errors.js';
import { parseDockerfileNodes } from './assemble.js';

const main = 'FROM scratch\nINCLUDE part.df\nCMD ["main"]\n';
const part = '# only\nLABEL from=part\nEXPOSE 80\n';

function spliced() {
  const ast = parseAst(main);
  const [from, , cmd] = ast.root.children;
  const fragment = parseAst(part).root.children;
  return {
    ast,
    entries: [
      { node: from!, file: 'Dockerfile' },
      ...fragment.map((node) => ({ node, file: 'part.df' })),
      { node: cmd!, file: 'Dockerfile' },
    ],
  };
}

describe('parseDockerfileNodes', () => {
  it('keeps the file of each spliced instruction', () => {
    const { ast, entries } = spliced();
    const parsed = parseDockerfileNodes(ast, entries);
    const locations = parsed.stages[0]!.instructions.map((i) => [
      i.kind,
      i.location.file,
      i.location.startLine,
    ]);
    expect(locations).toEqual([
      ['label', 'part.df', 2],
      ['expose', 'part.df', 3],
      ['cmd', 'Dockerfile', 3],
    ]);
  });

  it('locates an error in the included file', () => {
    const ast = parseAst(main);
    const bad = parseAst('EXPOSE\n').root.children[0]!;
    const entries = [
      { node: ast.root.children[0]!, file: 'Dockerfile' },
      { node: bad, file: 'bad.df' },
    ];
    let caught: unknown;
    try {
      parseDockerfileNodes(ast, entries, { sources: { 'bad.df': 'EXPOSE\n' } });
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(DockerfileParseError);
    const error = caught as DockerfileParseError;
    expect(error.location?.file).toBe('bad.df');
    expect(error.location?.startLine).toBe(1);
    expect(error.snippet).toContain('EXPOSE');
  });

  it('parses declared extension keywords', () => {
    const ast = parseAst('FROM scratch\nGREET --loud "hello world" twice\n');
    const entries = ast.root.children.map((node) => ({ node, file: 'Dockerfile' }));
    const parsed = parseDockerfileNodes(ast, entries, { extensionKeywords: ['greet'] });
    const instruction = parsed.stages[0]!.instructions[0]!;
    expect(instruction.kind).toBe('extension');
    if (instruction.kind !== 'extension') return;
    expect(instruction.name).toBe('greet');
    expect(instruction.flags).toEqual(['--loud']);
    expect(instruction.args).toEqual(['"hello', 'world"', 'twice']);
  });

  it('rejects undeclared unknown keywords', () => {
    const ast = parseAst('FROM scratch\nGREET hello\n');
    const entries = ast.root.children.map((node) => ({ node, file: 'Dockerfile' }));
    expect(() => parseDockerfileNodes(ast, entries)).toThrow(/unknown instruction: GREET/);
  });
});

describe('parseAst allowEmpty', () => {
  it('accepts a fragment of comments only', () => {
    expect(parseAst('# nothing here\n', { allowEmpty: true }).root.children).toEqual([]);
  });

  it('still rejects empty text by default', () => {
    expect(() => parseAst('# nothing here\n')).toThrow(/no instructions/);
  });
});
