import { processWord } from '../shell/lexer.js';
import { ShellExpansionError } from '../shell/errors.js';
import type { Heredoc } from './node.js';

// Go's \s (RE2) is [\t\n\f\r ], so the blanks after `<<` are matched with that class.
const HEREDOC_WORD = /^(\d*)<<(-?)[\t\n\f\r ]*([^<]*)$/;
const LEADING_TABS = /^\t+/gm;
const EMPTY_ENV: Readonly<Record<string, string>> = Object.freeze({});

/** Instructions whose lines may open here-documents. */
export const HEREDOC_INSTRUCTIONS: ReadonlySet<string> = new Set(['add', 'copy', 'run']);

/**
 * Parses one word such as `<<EOF`, `<<-"EOF"` or `3<<EOF` into a heredoc header, or returns
 * undefined when the word is not one. The body is expanded only when no part of the
 * delimiter was quoted, which is detected by lexing the word with and without raw quotes.
 */
export function parseHeredocWord(word: string): Omit<Heredoc, 'content'> | undefined {
  const match = HEREDOC_WORD.exec(word);
  if (match === null) return undefined;
  const rest = match[3] as string;
  if (rest === '') return undefined;

  const plain = processWord(rest, EMPTY_ENV, { skipUnsetEnv: true }).words;
  if (plain.length !== 1) return undefined;
  const raw = processWord(rest, EMPTY_ENV, { skipUnsetEnv: true, rawQuotes: true }).words;
  if (raw.length !== plain.length) {
    throw new ShellExpansionError(
      `internal lexing of heredoc produced inconsistent results: ${rest}`,
    );
  }

  const name = plain[0] as string;
  const countQuotes = (text: string): number => (text.match(/['"]/g) ?? []).length;
  return {
    name,
    expand: countQuotes(name) === countQuotes(raw[0] as string),
    chomp: match[2] === '-',
    fileDescriptor: Number.parseInt(match[1] || '0', 10),
  };
}

/** Like `parseHeredocWord`, but a word that does not lex (an open quote) is no heredoc. */
export function tryParseHeredocWord(word: string): Omit<Heredoc, 'content'> | undefined {
  try {
    return parseHeredocWord(word);
  } catch (error) {
    if (error instanceof ShellExpansionError) return undefined;
    throw error;
  }
}

/** Finds every heredoc header on an instruction line, in order. */
export function heredocsFromLine(line: string): Omit<Heredoc, 'content'>[] {
  let words: string[];
  try {
    words = processWord(line, EMPTY_ENV, {
      rawQuotes: true,
      rawEscapes: true,
      skipUnsetEnv: true,
      heredocWords: true,
    }).words;
  } catch {
    // An unbalanced quote elsewhere on the line is the shell's business, not the parser's.
    words = [];
  }
  const headers: Omit<Heredoc, 'content'>[] = [];
  for (const word of words) {
    const header = parseHeredocWord(word);
    if (header !== undefined) headers.push(header);
  }
  return headers;
}

/** Removes leading tabs from every line, as `<<-` requires. */
export function chompHeredocContent(content: string): string {
  return content.replace(LEADING_TABS, '');
}
