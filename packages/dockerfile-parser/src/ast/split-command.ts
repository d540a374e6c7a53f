import { isWhitespace } from '../whitespace.js';
const WHITESPACE_RUN = /[\t\v\f\r ]+/;

/** Splits a logical line into the instruction keyword, its `--flags` and the rest. */
export function splitCommand(line: string): { keyword: string; flags: string[]; rest: string } {
  const trimmed = line.trim();
  const match = WHITESPACE_RUN.exec(trimmed);
  if (match === null) return { keyword: trimmed, flags: [], rest: '' };
  const keyword = trimmed.slice(0, match.index);
  const { rest, flags } = extractFlags(trimmed.slice(match.index + match[0].length));
  return { keyword, flags, rest: rest.trim() };
}

/**
 * Reads leading `--name[=value]` words. A bare `--` ends the flags; quotes group characters
 * and a backslash escapes one, as in BuildKit's extractBuilderFlags.
 */
export function extractFlags(line: string): { rest: string; flags: string[] } {
  const chars = line;
  const flags: string[] = [];
  let phase: 'spaces' | 'word' | 'quote' = 'spaces';
  let word = '';
  let quote = '';
  let blankOk = false;
  const restFrom = (pos: number): string => line.slice(pos);

  for (let pos = 0; pos <= chars.length; pos++) {
    const atEnd = pos === chars.length;
    let ch = atEnd ? '' : (chars[pos] as string);

    if (phase === 'spaces') {
      if (atEnd) break;
      if (isWhitespace(ch)) continue;
      if (ch !== '-' || chars[pos + 1] !== '-') return { rest: restFrom(pos), flags };
      phase = 'word';
    }
    if (atEnd) {
      if (word !== '--' && (blankOk || word.length > 0)) flags.push(word);
      break;
    }
    if (phase === 'word') {
      if (isWhitespace(ch)) {
        phase = 'spaces';
        if (word === '--') return { rest: restFrom(pos), flags };
        if (blankOk || word.length > 0) flags.push(word);
        word = '';
        blankOk = false;
        continue;
      }
      if (ch === "'" || ch === '"') {
        quote = ch;
        blankOk = true;
        phase = 'quote';
        continue;
      }
      if (ch === '\\') {
        if (pos + 1 === chars.length) continue;
        pos++;
        ch = chars[pos] as string;
      }
      word += ch;
      continue;
    }
    if (ch === quote) {
      phase = 'word';
      continue;
    }
    if (ch === '\\') {
      if (pos + 1 === chars.length) {
        phase = 'word';
        continue;
      }
      pos++;
      ch = chars[pos] as string;
    }
    word += ch;
  }
  return { rest: '', flags };
}
