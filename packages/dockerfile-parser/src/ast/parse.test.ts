import { describe, expect, it } from 'vitest';
import { DockerfileParseError } from '../errors.js';
import { dumpNode } from './node.js';
import { parseAst } from './parse.js';

function dump(text: string): string {
  return dumpNode(parseAst(text).root);
}

describe('parseAst directives', () => {
  it('reads escape, syntax and check at the top', () => {
    const result = parseAst('# syntax=docker/dockerfile:1\n# escape=`\n# check=skip=all\nFROM a\n');
    expect(result.directives.map((d) => [d.name, d.value, d.line])).toEqual([
      ['syntax', 'docker/dockerfile:1', 1],
      ['escape', '`', 2],
      ['check', 'skip=all', 3],
    ]);
    expect(result.escapeToken).toBe('`');
  });

  it('ignores directives after an instruction', () => {
    const result = parseAst('FROM a\n# escape=`\nRUN a \\\n b\n');
    expect(result.directives).toEqual([]);
    expect(dumpNode(result.root)).toBe('(from "a")\n(run "a  b")');
  });

  it('rejects a repeated directive', () => {
    expect(() => parseAst('# escape=`\n# escape=\\\nFROM a\n')).toThrow(
      /only one escape parser directive/,
    );
  });

  it('rejects an invalid escape token', () => {
    expect(() => parseAst('# escape=x\nFROM a\n')).toThrow(DockerfileParseError);
  });
});

describe('parseAst lines', () => {
  it('accepts CRLF line endings and a byte order mark', () => {
    expect(dump('\uFEFFFROM a\r\nRUN echo \\\r\n  hi\r\n')).toBe('(from "a")\n(run "echo   hi")');
  });

  it('warns about empty continuation lines', () => {
    const result = parseAst('FROM a\nRUN a \\\n\n b\n');
    expect(result.warnings).toHaveLength(1);
    expect(result.warnings[0]?.location.startLine).toBe(4);
  });

  it('keeps comments above an instruction', () => {
    const result = parseAst('# first\n# second\nFROM a\n');
    expect(result.root.children[0]?.prevComment).toEqual(['first', 'second']);
  });

  it('keeps unknown instructions for the typed layer', () => {
    expect(dump('FROM a\nFOO bar\n')).toBe('(from "a")\n(foo "")');
  });

  it('records the keyword as written', () => {
    expect(parseAst('from a\nRun b\n').root.children.map((node) => node.keyword)).toEqual([
      'from',
      'Run',
    ]);
  });
});

describe('parseAst heredocs', () => {
  it('reads a RUN heredoc body', () => {
    const result = parseAst('FROM a\nRUN <<EOF\necho $HOME\necho two\nEOF\nRUN done\n');
    const run = result.root.children[1];
    expect(run?.heredocs).toEqual([
      {
        name: 'EOF',
        content: 'echo $HOME\necho two\n',
        expand: true,
        chomp: false,
        fileDescriptor: 0,
      },
    ]);
    expect(run?.startLine).toBe(2);
    expect(run?.endLine).toBe(5);
    expect(result.root.children[2]?.startLine).toBe(6);
  });

  it('marks quoted delimiters as literal', () => {
    const result = parseAst('FROM a\nRUN <<"EOF" cat\n$x\nEOF\n');
    expect(result.root.children[1]?.heredocs[0]).toMatchObject({ name: 'EOF', expand: false });
  });

  it('reads several heredocs on one line', () => {
    const result = parseAst('FROM a\nRUN <<A cat - && 3<<-B cat\none\nA\n\ttwo\n\tB\n');
    expect(result.root.children[1]?.heredocs).toEqual([
      { name: 'A', content: 'one\n', expand: true, chomp: false, fileDescriptor: 0 },
      { name: 'B', content: '\ttwo\n', expand: true, chomp: true, fileDescriptor: 3 },
    ]);
  });

  it('reads a COPY heredoc used as a file', () => {
    const result = parseAst('FROM a\nCOPY <<EOF /etc/config\nkey=value\nEOF\n');
    expect(result.root.children[1]?.heredocs[0]?.content).toBe('key=value\n');
  });

  it('does not read heredocs for exec form or other instructions', () => {
    expect(parseAst('FROM a\nRUN ["cat", "<<EOF"]\n').root.children[1]?.heredocs).toEqual([]);
    expect(parseAst('FROM a\nENV X=<<EOF\n').root.children[1]?.heredocs).toEqual([]);
  });

  it('reads a heredoc under ONBUILD', () => {
    const result = parseAst('FROM a\nONBUILD RUN <<EOF\necho\nEOF\n');
    expect(result.root.children[1]?.heredocs[0]?.content).toBe('echo\n');
  });

  it('rejects an unterminated heredoc', () => {
    expect(() => parseAst('FROM a\nRUN <<EOF\necho\n')).toThrow(/unterminated heredoc/);
  });
});
