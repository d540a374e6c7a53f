import { DockerfileParseError, type SourceLocation } from '../errors.js';
import { ShellExpansionError } from '../shell/errors.js';
import { DirectiveReader, type Directive } from './directives.js';
import { HEREDOC_INSTRUCTIONS, heredocsFromLine } from './heredoc.js';
import { LINE_PARSERS, type LineContext } from './line-parsers.js';
import { createNode, type Heredoc, type Node } from './node.js';
import { splitCommand } from './split-command.js';
import { isWhitespace } from '../whitespace.js';
import { ownValue } from '../own.js';

/** A problem the low-level parser tolerates but reports (such as empty continuation lines). */
export interface SyntaxWarning {
  rule: 'NoEmptyContinuation';
  message: string;
  location: SourceLocation;
}

export interface AstResult {
  /** The root node; `children` are the instructions in order. */
  root: Node;
  directives: Directive[];
  escapeToken: string;
  warnings: SyntaxWarning[];
}

const LEADING_SPACE = /^\p{White_Space}+/u;
const TRAILING_NEWLINES = /[\r\n]+$/;

// Removes trailing `\r` and `\n` characters, as Go's bytes.TrimRight(line, "\r\n") does.
function trimNewline(line: string): string {
  const last = line.charCodeAt(line.length - 1);
  return last === 0x0a || last === 0x0d ? line.replace(TRAILING_NEWLINES, '') : line;
}

function trimLeadingSpace(line: string): string {
  return line.length > 0 && isWhitespace(line.charAt(0)) ? line.replace(LEADING_SPACE, '') : line;
}

// Removes a trailing line continuation; `ended` is false when there was one.
function trimContinuation(line: string, escapeToken: string): { text: string; ended: boolean } {
  const text = line.replace(continuationRegex(escapeToken), '$1');
  return { text, ended: text === line };
}

// Reads the text line by line, as a scanner over a stream would. Lines come without their
// `\n` (a `\r` before it stays); `takeRaw` gives the line with its newline, for heredoc bodies.
class LineCursor {
  /** Number of lines consumed so far, so also the 1-based number of the last one. */
  line = 0;
  private readonly lines: string[];
  private readonly endsWithNewline: boolean;

  constructor(text: string) {
    this.lines = text.split('\n');
    this.endsWithNewline = text.endsWith('\n');
    // split leaves an empty string after a final newline; it is not a line.
    if (this.endsWithNewline || text === '') this.lines.pop();
  }

  hasNext(): boolean {
    return this.line < this.lines.length;
  }

  takeRaw(): string {
    const value = this.take();
    return this.line < this.lines.length || this.endsWithNewline ? `${value}\n` : value;
  }

  take(): string {
    const value = this.lines[this.line] as string;
    this.line++;
    return value;
  }
}

/**
 * Parses Dockerfile text into BuildKit's low-level tree: directives, comments, line
 * continuations, the escape character, heredoc bodies and per-instruction argument grammars.
 * Unknown instruction names are kept (the typed layer rejects them). Text with no instruction
 * is an error unless `allowEmpty` is set, as for a fragment that an expand phase splices in.
 */
export function parseAst(text: string, options: { allowEmpty?: boolean } = {}): AstResult {
  const source = text.startsWith('\uFEFF') ? text.slice(1) : text;
  const cursor = new LineCursor(source);
  const directives = new DirectiveReader();
  const root = createNode('');
  const instructions: Node[] = [];
  const warnings: SyntaxWarning[] = [];
  let comments: string[] = [];

  while (cursor.hasNext()) {
    const trimmed = trimNewline(cursor.take());
    const startLine = cursor.line;
    const stripped = trimLeadingSpace(trimmed);
    const isComment = stripped.startsWith('#');
    if (isComment) {
      const comment = stripped.slice(1).trim();
      comments = comment === '' ? [] : [...comments, comment];
    }
    directives.read(stripped, startLine);

    const first = trimContinuation(isComment ? '' : stripped, directives.escapeToken);
    let ended = first.ended;
    if (ended && first.text.length === 0) continue;

    // Comment lines and blank lines inside a continuation are skipped.
    let logical = first.text;
    let emptyContinuation = false;
    while (!ended && cursor.hasNext()) {
      const part = trimNewline(cursor.take());
      directives.read(part, cursor.line);
      const partStripped = trimLeadingSpace(part);
      if (partStripped.startsWith('#')) continue;
      if (partStripped === '') {
        emptyContinuation = true;
        continue;
      }
      const next = trimContinuation(part, directives.escapeToken);
      ended = next.ended;
      logical += next.text;
    }

    if (emptyContinuation) {
      warnings.push({
        rule: 'NoEmptyContinuation',
        message: `Empty continuation line found in: ${logical}`,
        location: { startLine: cursor.line, endLine: cursor.line },
      });
    }

    const context: LineContext = { escapeToken: directives.escapeToken };
    const where: SourceLocation = {
      startLine,
      endLine: cursor.line,
      column: trimmed.length - stripped.length + 1,
    };
    const node = withLocation(() => nodeFromLine(logical, context), where);
    if (canContainHeredoc(node) && logical.includes('<<')) {
      const headers = withLocation(() => heredocsFromLine(logical), where);
      node.heredocs = headers.map((header) => readHeredocBody(cursor, header, startLine));
    }
    node.startLine = startLine;
    node.endLine = cursor.line;
    node.startColumn = where.column ?? 1;
    node.prevComment = comments;
    instructions.push(node);
    comments = [];
  }

  root.children = instructions;
  if (instructions.length === 0 && options.allowEmpty !== true) {
    throw new DockerfileParseError('file with no instructions', {
      code: 'EMPTY_DOCKERFILE',
      hint: 'Add at least a FROM instruction.',
      location: { startLine: Math.max(cursor.line, 1), endLine: Math.max(cursor.line, 1) },
    });
  }
  root.startLine = instructions[0]?.startLine ?? 0;
  root.endLine = cursor.line;
  return { root, directives: directives.directives, escapeToken: directives.escapeToken, warnings };
}

// A line continues when it ends in the escape character (trailing blanks allowed), unless
// that character is itself escaped. Only `\` and `` ` `` are valid escape characters.
const CONTINUATION: Readonly<Record<string, RegExp>> = {
  '\\': /([^\\])\\[ \t]*$|^\\[ \t]*$/,
  '`': /([^`])`[ \t]*$|^`[ \t]*$/,
};

function continuationRegex(escapeToken: string): RegExp {
  return CONTINUATION[escapeToken] as RegExp;
}

function withLocation<T>(run: () => T, location: SourceLocation): T {
  try {
    return run();
  } catch (error) {
    if (error instanceof DockerfileParseError) {
      throw error.location === undefined ? error.locate(location) : error;
    }
    if (error instanceof ShellExpansionError) {
      throw new DockerfileParseError(error.message, {
        code: 'DOCKERFILE_SYNTAX',
        hint: 'Check the quotes and the heredoc delimiter on this line.',
        location,
        cause: error,
      });
    }
    throw error;
  }
}

function readHeredocBody(
  cursor: LineCursor,
  header: Omit<Heredoc, 'content'>,
  startLine: number,
): Heredoc {
  let content = '';
  while (cursor.hasNext()) {
    const raw = cursor.takeRaw();
    let candidate = trimNewline(raw);
    if (header.chomp) candidate = candidate.replace(/^\t+/, '');
    if (candidate === header.name) return { ...header, content };
    content += raw;
  }
  throw new DockerfileParseError('unterminated heredoc', {
    code: 'DOCKERFILE_SYNTAX',
    hint: `End the here-document with a line containing only "${header.name}".`,
    location: { startLine, endLine: cursor.line },
  });
}

function canContainHeredoc(node: Node): boolean {
  let target = node;
  if (node.value === 'onbuild' && node.next?.children[0] !== undefined)
    target = node.next.children[0];
  return HEREDOC_INSTRUCTIONS.has(target.value) && !target.json;
}

/** Builds the node of one logical line: name, flags, then the instruction's argument grammar. */
export function nodeFromLine(line: string, context: LineContext): Node {
  const { keyword, flags, rest } = splitCommand(line);
  const name = keyword.toLowerCase();
  const node = createNode(name);
  node.keyword = keyword;
  node.original = line;
  node.flags = flags;

  if (name === 'onbuild') {
    if (rest !== '') {
      const child = nodeFromLine(rest, context);
      const holder = createNode('');
      holder.children = [child];
      node.next = holder;
    }
    return node;
  }

  const parser = ownValue(LINE_PARSERS, name);
  if (parser === undefined) {
    // Unknown instructions keep an empty argument, as BuildKit's parser does; the typed
    // layer reports them.
    node.next = createNode('');
    return node;
  }
  const parsed = parser(rest, context, name);
  node.next = parsed.next;
  node.json = parsed.json ?? false;
  return node;
}
