import { describe, expect, it } from 'vitest';
import { ShellExpansionError } from '../shell/errors.js';
import { heredocsFromLine, parseHeredocWord } from './heredoc.js';
import { parseAst } from './parse.js';

describe('parseHeredocWord', () => {
  it('reads valid delimiter words', () => {
    for (const word of [
      '<<EOF',
      "<<'EOF'",
      '<<"EOF"',
      '<<-EOF',
      "<<-'EOF'",
      '<<-"EOF"',
      '<<EO"F"',
      '<< EOF',
      '<<- EOF',
    ]) {
      expect(parseHeredocWord(word)?.name, word).toBe('EOF');
    }
  });

  it('returns undefined for words that are not heredocs', () => {
    for (const word of ['', 'EOF', '<<', '<<-', '<EOF', '<<<EOF', '<<EOF sh']) {
      expect(parseHeredocWord(word), word).toBeUndefined();
    }
  });

  it('rejects unbalanced quotes', () => {
    for (const word of ["<<'EOF", '<<"EOF', "<<EOF'", '<<EOF"']) {
      expect(() => parseHeredocWord(word), word).toThrow(ShellExpansionError);
    }
  });

  it('tells quoted delimiters from escaped quotes', () => {
    expect(parseHeredocWord("<<eo'f'")).toMatchObject({ name: 'eof', expand: false });
    expect(parseHeredocWord("<<eo\\'f")).toMatchObject({ name: "eo'f", expand: true });
    expect(parseHeredocWord("<<'e'o\\'f")).toMatchObject({ name: "eo'f", expand: false });
    expect(parseHeredocWord("<<'one two'")).toMatchObject({ name: 'one two', expand: false });
  });
});

describe('heredocsFromLine', () => {
  it('finds delimiters, with blanks after << too', () => {
    const names = (line: string): string[] => heredocsFromLine(line).map((heredoc) => heredoc.name);
    expect(names('RUN <<EOF')).toEqual(['EOF']);
    // Only blanks right after `<<` join the delimiter, as in BuildKit's lexer.
    expect(names('RUN <<- EOF')).toEqual([]);
    expect(names('RUN << -EOF')).toEqual(['-EOF']);
    expect(names('RUN <<  EOF  > foo')).toEqual(['EOF']);
    expect(names('RUN 4<<EOF')).toEqual(['EOF']);
    expect(names('RUN <<EOF <<EOF2')).toEqual(['EOF', 'EOF2']);
    expect(names('RUN <<$EOF')).toEqual(['$EOF']);
    expect(names("RUN '<<EOF'")).toEqual([]);
    expect(names('RUN "<<EOF"')).toEqual([]);
  });
});

describe('heredoc bodies', () => {
  it('keeps raw bodies and reads them in order', () => {
    const text = [
      'FROM alpine',
      'RUN <<-UNINDENT2',
      '\tbaz',
      '\tUNINDENT2',
      'RUN <<COMMENT',
      '# internal comment',
      'echo hi # trailing',
      'COMMENT',
      'COPY <<X <<Y /dest',
      'Y',
      'X',
      'X',
      'Y',
      'USER <<INVALID',
      'INVALID',
      '',
    ].join('\n');
    const nodes = parseAst(text).root.children;
    expect(nodes[1]?.heredocs).toEqual([
      { name: 'UNINDENT2', content: '\tbaz\n', expand: true, chomp: true, fileDescriptor: 0 },
    ]);
    expect(nodes[2]?.heredocs[0]?.content).toBe('# internal comment\necho hi # trailing\n');
    expect(nodes[3]?.heredocs.map((heredoc) => [heredoc.name, heredoc.content])).toEqual([
      ['X', 'Y\n'],
      ['Y', 'X\n'],
    ]);
    expect(nodes[4]?.heredocs).toEqual([]);
    expect(nodes[5]?.value).toBe('invalid');
  });
});
