import { isWhitespace } from '../whitespace.js';
import { ShellExpansionError } from './errors.js';
import { trimPatternPrefix, trimPatternSuffix, shellPatternToRegex } from './pattern.js';

/** Variables visible to an expansion: a plain object or a Map from name to value. */
export type ShellEnv = Readonly<Record<string, string>> | ReadonlyMap<string, string>;

export interface ShellLexerOptions {
  /** The Dockerfile escape character, `\` (default) or `` ` ``. */
  escapeToken?: string;
  /** Keep quote characters in the output (used to detect quoted heredoc delimiters). */
  rawQuotes?: boolean;
  /** Keep escape characters in the output. */
  rawEscapes?: boolean;
  /** Treat quotes as ordinary characters. */
  skipProcessQuotes?: boolean;
  /** Leave references to unset variables as written instead of expanding them to "". */
  skipUnsetEnv?: boolean;
  /** Keep `<<` and the blanks after it in one word with the delimiter (`<<  EOF`). */
  heredocWords?: boolean;
}

/** The outcome of expanding one word. */
export interface ExpansionResult {
  /** The expanded text, spaces kept. */
  result: string;
  /** The expanded text split into words the way the shell would split it. */
  words: string[];
  /** Variable names that were referenced and set. */
  matched: Set<string>;
  /** Variable names that were referenced but not set. */
  unmatched: Set<string>;
}

const EOF = '';
const LETTER = /^\p{L}$/u;
const DIGIT = /^\p{Nd}$/u;
const SPECIAL_PARAMS = new Set(['@', '*', '#', '?', '-', '$', '!', '0']);

// Collects the words of an expansion: spaces from unquoted text and from variable values
// split words, spaces from quoted text and escapes do not.
class WordCollector {
  word = '';
  words: string[] = [];
  inWord = false;

  addChar(ch: string): void {
    if (isWhitespace(ch)) {
      if (this.inWord && this.word.length > 0) {
        this.words.push(this.word);
        this.word = '';
        this.inWord = false;
      }
    } else {
      this.addRaw(ch);
    }
  }

  addRaw(text: string): void {
    this.word += text;
    this.inWord = true;
  }

  addString(text: string): void {
    for (const ch of text) this.addChar(ch);
  }

  finish(): string[] {
    if (this.word.length > 0) {
      this.words.push(this.word);
      this.word = '';
      this.inWord = false;
    }
    return this.words;
  }
}

// One pass over one word; the reader position is shared by the nested `${...}` readers.
class WordExpander {
  private readonly chars: string[];
  private pos = 0;
  private rawEscapes: boolean;
  readonly matched = new Set<string>();
  readonly unmatched = new Set<string>();

  constructor(
    word: string,
    private readonly env: ShellEnv,
    private readonly options: Required<ShellLexerOptions>,
  ) {
    this.chars = Array.from(word);
    this.rawEscapes = options.rawEscapes;
  }

  private peek(): string {
    return this.chars[this.pos] ?? EOF;
  }

  private next(): string {
    const ch = this.chars[this.pos] ?? EOF;
    if (ch !== EOF) this.pos++;
    return ch;
  }

  run(): { result: string; words: string[] } {
    return this.processUntil(EOF, this.rawEscapes);
  }

  private processUntil(stopChar: string, rawEscapes: boolean): { result: string; words: string[] } {
    const savedRawEscapes = this.rawEscapes;
    this.rawEscapes = rawEscapes;
    try {
      return this.processUntilInner(stopChar);
    } finally {
      this.rawEscapes = savedRawEscapes;
    }
  }

  private processUntilInner(stopChar: string): { result: string; words: string[] } {
    let result = '';
    const words = new WordCollector();
    const quotesSpecial = !this.options.skipProcessQuotes;

    while (this.peek() !== EOF) {
      let ch = this.peek();
      if (stopChar !== EOF && ch === stopChar) {
        this.next();
        return { result, words: words.finish() };
      }
      if (ch === '$') {
        const value = this.processDollar();
        result += value;
        words.addString(value);
        continue;
      }
      if (this.options.heredocWords && ch === '<') {
        const value = this.processPossibleHeredoc();
        result += value;
        words.addRaw(value);
        continue;
      }
      if (quotesSpecial && (ch === "'" || ch === '"')) {
        const value = ch === "'" ? this.processSingleQuote() : this.processDoubleQuote();
        result += value;
        words.addRaw(value);
        continue;
      }

      ch = this.next();
      if (ch === this.options.escapeToken) {
        if (this.rawEscapes) {
          words.addRaw(ch);
          result += ch;
        }
        // The escape character escapes the next one, except at the end of the word.
        ch = this.next();
        if (ch === EOF) break;
        words.addRaw(ch);
      } else {
        words.addChar(ch);
      }
      result += ch;
    }

    if (stopChar !== EOF) {
      throw new ShellExpansionError(
        `unexpected end of statement while looking for matching ${stopChar}`,
      );
    }
    return { result, words: words.finish() };
  }

  // A heredoc operator may be followed by blanks before its delimiter word.
  private processPossibleHeredoc(): string {
    let value = this.next();
    if (this.peek() !== '<') return value;
    value += this.next();
    while (this.peek() !== EOF && isWhitespace(this.peek())) value += this.next();
    return value;
  }

  // Everything between single quotes is literal; a single quote cannot be escaped.
  private processSingleQuote(): string {
    let result = '';
    const open = this.next();
    if (this.options.rawQuotes) result += open;
    for (;;) {
      const ch = this.next();
      if (ch === EOF) {
        throw new ShellExpansionError(
          'unexpected end of statement while looking for matching single-quote',
        );
      }
      if (ch === "'") {
        if (this.options.rawQuotes) result += ch;
        return result;
      }
      result += ch;
    }
  }

  // Double quotes keep everything but `$` and the escape character, which escapes only
  // `"`, `$` and itself (as in sh).
  private processDoubleQuote(): string {
    let result = '';
    const open = this.next();
    if (this.options.rawQuotes) result += open;
    for (;;) {
      const peeked = this.peek();
      if (peeked === EOF) {
        throw new ShellExpansionError(
          'unexpected end of statement while looking for matching double-quote',
        );
      }
      if (peeked === '"') {
        const close = this.next();
        if (this.options.rawQuotes) result += close;
        return result;
      }
      if (peeked === '$') {
        result += this.processDollar();
        continue;
      }
      let ch = this.next();
      if (ch === this.options.escapeToken) {
        if (this.rawEscapes) result += ch;
        const after = this.peek();
        if (after === EOF) continue;
        if (after === '"' || after === '$' || after === this.options.escapeToken) ch = this.next();
      }
      result += ch;
    }
  }

  private processDollar(): string {
    this.next();

    if (this.peek() !== '{') {
      const name = this.processName();
      if (name === '') return '$';
      const { value, set } = this.lookup(name);
      if (!set && this.options.skipUnsetEnv) return `$${name}`;
      return value;
    }

    this.next();
    const first = this.peek();
    if (first === EOF) throw new ShellExpansionError("syntax error: missing '}'");
    if (first === '{' || first === '}' || first === ':') {
      throw new ShellExpansionError('syntax error: bad substitution');
    }
    const name = this.processName();
    let ch = this.next();
    let modifier = ch;

    if (ch === '}') {
      const { value, set } = this.lookup(name);
      if (!set && this.options.skipUnsetEnv) return `\${${name}}`;
      return value;
    }
    if (ch === '/') return this.processReplace(name);

    let nullIsUnset = false;
    if (ch === ':') {
      nullIsUnset = true;
      ch = this.next();
      modifier += ch;
    } else if (!['+', '-', '?', '#', '%'].includes(ch)) {
      throw new ShellExpansionError(`unsupported modifier (${modifier}) in substitution`);
    }

    const word = this.readUntilBrace(ch === '#' || ch === '%');
    const { value, set } = this.lookup(name);
    if (this.options.skipUnsetEnv && !set) return `\${${name}${modifier}${word}}`;

    const unsetOrNull = !set || (nullIsUnset && value === '');
    switch (ch) {
      case '-':
        return unsetOrNull ? word : value;
      case '+':
        return unsetOrNull ? '' : word;
      case '?':
        if (!set) throw new ShellExpansionError(`${name}: ${word || 'is not allowed to be unset'}`);
        if (nullIsUnset && value === '') {
          throw new ShellExpansionError(`${name}: ${word || 'is not allowed to be empty'}`);
        }
        return value;
      case '%':
      case '#': {
        // `#`/`%` remove the shortest match, `##`/`%%` the longest.
        const greedy = word.startsWith(ch);
        const pattern = greedy ? word.slice(1) : word;
        return ch === '%'
          ? trimPatternSuffix(pattern, value, greedy)
          : trimPatternPrefix(pattern, value, greedy);
      }
      default:
        throw new ShellExpansionError(`unsupported modifier (${modifier}) in substitution`);
    }
  }

  private readUntilBrace(rawEscapes: boolean): string {
    try {
      return this.processUntil('}', rawEscapes).result;
    } catch (error) {
      if (this.peek() === EOF) throw new ShellExpansionError("syntax error: missing '}'");
      throw error;
    }
  }

  // `${name/pattern/replacement}` replaces the first match, `${name//pattern/replacement}` all.
  private processReplace(name: string): string {
    const replaceAll = this.peek() === '/';
    if (replaceAll) this.next();

    let pattern: string;
    try {
      pattern = this.processUntil('/', true).result;
    } catch (error) {
      if (this.peek() === EOF) throw new ShellExpansionError("syntax error: missing '/' in ${}");
      throw error;
    }
    const replacement = this.readUntilBrace(true);

    const { value, set } = this.lookup(name);
    if (this.options.skipUnsetEnv && !set) return `\${${name}/${pattern}/${replacement}}`;

    const regex = shellPatternToRegex(pattern, true, false);
    if (replaceAll) return replaceEveryMatch(value, regex, replacement);
    const match = regex.exec(value);
    if (match === null) return value;
    return value.slice(0, match.index) + replacement + value.slice(match.index + match[0].length);
  }

  // A name is letters, digits and `_`; a leading digit reads only digits, and a special
  // parameter (`$@`, `$#`, ...) is one character.
  private processName(): string {
    let name = '';
    while (this.peek() !== EOF) {
      const ch = this.peek();
      if (name === '' && DIGIT.test(ch)) {
        while (this.peek() !== EOF && DIGIT.test(this.peek())) name += this.next();
        return name;
      }
      if (name === '' && SPECIAL_PARAMS.has(ch)) return this.next();
      if (!LETTER.test(ch) && !DIGIT.test(ch) && ch !== '_') break;
      name += this.next();
    }
    return name;
  }

  private lookup(name: string): { value: string; set: boolean } {
    const value =
      this.env instanceof Map
        ? this.env.get(name)
        : lookupRecord(this.env as Record<string, string>, name);
    if (value === undefined) {
      this.unmatched.add(name);
      return { value: '', set: false };
    }
    this.matched.add(name);
    return { value, set: true };
  }
}

// Replaces successive matches but skips an empty match right after a previous match, as Go's
// ReplaceAllString does (JavaScript's replace would turn `.*` on "abc" into two replacements).
function replaceEveryMatch(value: string, regex: RegExp, replacement: string): string {
  const global = new RegExp(regex.source, 'gu');
  let out = '';
  let copiedUpTo = 0;
  let previousEnd = -1;
  for (const match of value.matchAll(global)) {
    const start = match.index;
    const end = start + match[0].length;
    if (match[0].length === 0 && start === previousEnd) continue;
    out += value.slice(copiedUpTo, start) + replacement;
    copiedUpTo = end;
    previousEnd = end;
  }
  return out + value.slice(copiedUpTo);
}

function lookupRecord(env: Record<string, string>, name: string): string | undefined {
  return Object.prototype.hasOwnProperty.call(env, name) ? env[name] : undefined;
}

const SPLIT_SPACE = /\p{White_Space}+/u;

function hasSpecialCharacters(word: string, options: Required<ShellLexerOptions>): boolean {
  if (
    word.includes('$') ||
    word.includes("'") ||
    word.includes('"') ||
    word.includes(options.escapeToken)
  ) {
    return true;
  }
  return options.heredocWords && word.includes('<');
}

function resolveOptions(options: ShellLexerOptions): Required<ShellLexerOptions> {
  return {
    escapeToken: options.escapeToken ?? '\\',
    rawQuotes: options.rawQuotes ?? false,
    rawEscapes: options.rawEscapes ?? false,
    skipProcessQuotes: options.skipProcessQuotes ?? false,
    skipUnsetEnv: options.skipUnsetEnv ?? false,
    heredocWords: options.heredocWords ?? false,
  };
}

/**
 * Expands variables and removes quotes and escapes in one Dockerfile word, with the rules of
 * BuildKit's shell lexer. Throws `ShellExpansionError` on bad syntax or a failed `${v?msg}`.
 */
export function processWord(
  word: string,
  env: ShellEnv,
  options: ShellLexerOptions = {},
): ExpansionResult {
  const resolved = resolveOptions(options);
  // Most words contain nothing to expand or unquote; they only need splitting.
  if (!hasSpecialCharacters(word, resolved)) {
    const words = word.split(SPLIT_SPACE).filter((part) => part !== '');
    return { result: word, words, matched: new Set(), unmatched: new Set() };
  }
  const expander = new WordExpander(word, env, resolved);
  let outcome: { result: string; words: string[] };
  try {
    outcome = expander.run();
  } catch (error) {
    if (error instanceof ShellExpansionError) {
      throw new ShellExpansionError(
        `failed to process ${JSON.stringify(word)}: ${error.message}`,
        error.code,
      );
    }
    throw error;
  }
  return { ...outcome, matched: expander.matched, unmatched: expander.unmatched };
}

/** Expands one word and returns the text with spaces kept (as ENV, WORKDIR or COPY paths use it). */
export function expandWord(word: string, env: ShellEnv, options: ShellLexerOptions = {}): string {
  return processWord(word, env, options).result;
}

/** Expands one word and splits the result into words, as the shell would. */
export function expandWords(
  word: string,
  env: ShellEnv,
  options: ShellLexerOptions = {},
): string[] {
  return processWord(word, env, options).words;
}
