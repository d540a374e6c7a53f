import { goQuote, goQuoteList } from './go-quote.js';

/** A here-document attached to a RUN, COPY or ADD line. */
export interface Heredoc {
  /** The delimiter word with quotes removed (`EOF` for `<<"EOF"`). */
  name: string;
  /** The body as written, each line ending in its newline, without the terminator line. */
  content: string;
  /** False when any part of the delimiter was quoted, so variables in the body stay literal. */
  expand: boolean;
  /** True for `<<-`, whose body and terminator lose their leading tabs. */
  chomp: boolean;
  /** The file descriptor written before `<<` (`3<<EOF`), 0 when none. */
  fileDescriptor: number;
}

/**
 * One node of the low-level parse tree, shaped like BuildKit's: an instruction node carries
 * its arguments as a `next` chain, and ONBUILD wraps its instruction in `children`.
 */
export interface Node {
  /** Instruction name (lower case) on instruction nodes; the argument on argument nodes. */
  value: string;
  next?: Node;
  children: readonly Node[];
  heredocs: readonly Heredoc[];
  /** `json: true` when the arguments came from the exec (JSON array) form. */
  json: boolean;
  /** The joined logical line, continuations removed. */
  original: string;
  /** The instruction keyword exactly as written, for casing checks. */
  keyword: string;
  flags: readonly string[];
  /** 1-based lines of the first and last physical line, heredoc bodies included. */
  startLine: number;
  endLine: number;
  /** 1-based column of the keyword on `startLine`. */
  startColumn: number;
  /** Comment lines directly above the instruction, without the `#`. */
  prevComment: readonly string[];
}

// Argument nodes far outnumber instruction nodes and never get children, heredocs, flags or
// comments. New nodes therefore share one frozen empty list, and writers assign a new array.
const NONE: readonly never[] = Object.freeze([]);

export function createNode(value: string, next?: Node): Node {
  return {
    value,
    next,
    children: NONE,
    heredocs: NONE,
    json: false,
    original: '',
    keyword: '',
    flags: NONE,
    startLine: 0,
    endLine: 0,
    startColumn: 1,
    prevComment: NONE,
  };
}

/** Returns the argument values of an instruction node's `next` chain. */
export function nodeArguments(node: Node): string[] {
  const values: string[] = [];
  for (let arg = node.next; arg !== undefined; arg = arg.next) values.push(arg.value);
  return values;
}

/** Dumps a node in BuildKit's S-expression format (`(copy ["--from=a"] "x" "/y")`). */
export function dumpNode(node: Node): string {
  let out = node.value.toLowerCase();
  if (node.flags.length > 0) out += ` ${goQuoteList(node.flags)}`;
  for (const child of node.children) out += `(${dumpNode(child)})\n`;
  for (let arg = node.next; arg !== undefined; arg = arg.next) {
    out += arg.children.length > 0 ? ` ${dumpNode(arg)}` : ` ${goQuote(arg.value)}`;
  }
  return out.trim();
}
