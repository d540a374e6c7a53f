import { isWhitespace } from '../whitespace.js';
import { DockerfileParseError } from '../errors.js';
import { createNode, type Node } from './node.js';

// The argument grammars of the low-level parser, one per instruction, as in BuildKit's
// parser: they split the text after the instruction name (and its flags) into a `next`
// chain. Nothing here expands variables or removes quotes, except the JSON decoding.

export interface LineContext {
  escapeToken: string;
}

export interface ParsedArguments {
  next?: Node;
  json?: boolean;
  children?: Node[];
}

const WHITESPACE_RUN = /[\t\v\f\r ]+/;

function chain(values: readonly string[]): Node | undefined {
  let head: Node | undefined;
  for (let i = values.length - 1; i >= 0; i--) head = createNode(values[i] as string, head);
  return head;
}

function syntaxError(message: string, hint: string): DockerfileParseError {
  return new DockerfileParseError(message, { code: 'DOCKERFILE_SYNTAX', hint });
}

/**
 * Splits ENV/LABEL/ARG text into words on unquoted whitespace, keeping quotes and escapes in
 * the words (BuildKit's parseWords).
 */
export function parseWords(rest: string, escapeToken: string): string[] {
  const chars = rest;
  const words: string[] = [];
  let phase: 'spaces' | 'word' | 'quote' = 'spaces';
  let word = '';
  let quote = '';
  let blankOk = false;

  for (let pos = 0; pos < chars.length; pos++) {
    let ch = chars[pos] as string;
    if (phase === 'spaces') {
      if (isWhitespace(ch)) continue;
      phase = 'word';
    }
    if (phase === 'word') {
      if (isWhitespace(ch)) {
        if (blankOk || word.length > 0) words.push(word);
        phase = 'spaces';
        word = '';
        blankOk = false;
        continue;
      }
      if (ch === "'" || ch === '"') {
        quote = ch;
        blankOk = true;
        phase = 'quote';
      }
      if (ch === escapeToken) {
        if (pos + 1 === chars.length) continue;
        // Outside quotes an escape keeps itself and the next character, even a quote.
        word += ch;
        pos++;
        ch = chars[pos] as string;
      }
      word += ch;
      continue;
    }
    // Inside quotes the escape is special, except between single quotes.
    if (ch === quote) phase = 'word';
    if (ch === escapeToken && quote !== "'") {
      if (pos + 1 === chars.length) {
        phase = 'word';
        continue;
      }
      pos++;
      word += ch;
      ch = chars[pos] as string;
    }
    word += ch;
  }
  if (phase !== 'spaces' && (blankOk || word.length > 0)) words.push(word);
  return words;
}

function newKeyValue(key: string, value: string, separator: string): Node[] {
  return [createNode(key), createNode(value), createNode(separator)];
}

// ENV and LABEL: `KEY value` (legacy, one pair, value is the raw rest) or `k=v k2=v2`.
function parseNameValue(rest: string, instruction: string, context: LineContext): ParsedArguments {
  const words = parseWords(rest, context.escapeToken);
  if (words.length === 0) return {};

  if (!(words[0] as string).includes('=')) {
    const split = rest.search(WHITESPACE_RUN);
    if (split < 0) {
      throw syntaxError(
        `${instruction} must have two arguments`,
        `Write "${instruction} ${rest}=VALUE" (or "${instruction} ${rest} VALUE").`,
      );
    }
    const match = WHITESPACE_RUN.exec(rest.slice(split)) as RegExpExecArray;
    return {
      next: chainNodes(newKeyValue(rest.slice(0, split), rest.slice(split + match[0].length), '')),
    };
  }

  const nodes: Node[] = [];
  for (const word of words) {
    const equals = word.indexOf('=');
    if (equals < 0) {
      throw syntaxError(
        `Syntax error - can't find = in ${JSON.stringify(word)}. Must be of the form: name=value`,
        `Write every pair of ${instruction} as name=value; quote values that contain spaces.`,
      );
    }
    nodes.push(...newKeyValue(word.slice(0, equals), word.slice(equals + 1), '='));
  }
  return { next: chainNodes(nodes) };
}

function chainNodes(nodes: Node[]): Node | undefined {
  for (let i = 0; i < nodes.length - 1; i++) (nodes[i] as Node).next = nodes[i + 1];
  return nodes[0];
}

// ARG: words, each `name` or `name=value`, quotes kept.
function parseNameOrNameValue(rest: string, context: LineContext): ParsedArguments {
  return { next: chain(parseWords(rest, context.escapeToken)) };
}

function parseWhitespaceDelimited(rest: string): ParsedArguments {
  if (rest === '') return {};
  return { next: chain(rest.split(new RegExp(WHITESPACE_RUN.source))) };
}

function parseString(rest: string): ParsedArguments {
  if (rest === '') return {};
  return { next: createNode(rest) };
}

class NotStringArrayError extends Error {}

// Returns undefined when the text is not a JSON array, so the caller falls back to the shell
// form. Throws when it is an array with an element that is not a string.
function parseJsonArray(rest: string): string[] | undefined {
  const trimmed = rest.replace(/^\p{White_Space}+/u, '');
  if (!trimmed.startsWith('[')) return undefined;
  let parsed: unknown;
  try {
    parsed = JSON.parse(trimmed);
  } catch {
    return undefined;
  }
  if (!Array.isArray(parsed)) return undefined;
  if (!parsed.every((item) => typeof item === 'string')) throw new NotStringArrayError();
  return parsed as string[];
}

function notStringArray(): DockerfileParseError {
  return syntaxError(
    'dockerfile: when using JSON array syntax, arrays must be comprised of strings only',
    'Quote every element of the JSON array, or use the shell form.',
  );
}

// The exec form when the text is a JSON string array; undefined for the shell form.
function jsonArguments(rest: string): ParsedArguments | undefined {
  try {
    const array = parseJsonArray(rest);
    return array === undefined ? undefined : { next: chain(array), json: true };
  } catch (error) {
    if (error instanceof NotStringArrayError) throw notStringArray();
    throw error;
  }
}

function parseMaybeJson(rest: string): ParsedArguments {
  if (rest === '') return {};
  return jsonArguments(rest) ?? { next: createNode(rest) };
}

function parseMaybeJsonToList(rest: string): ParsedArguments {
  return jsonArguments(rest) ?? parseWhitespaceDelimited(rest);
}

// HEALTHCHECK: the first word (CMD, NONE, ...) then a shell or JSON command.
function parseHealthConfig(rest: string): ParsedArguments {
  const chars = Array.from(rest);
  let separator = 0;
  while (separator < chars.length && !isWhitespace(chars[separator] as string)) separator++;
  if (separator === 0) return {};
  let start = separator;
  while (start < chars.length && isWhitespace(chars[start] as string)) start++;

  const command = parseMaybeJson(chars.slice(start).join(''));
  const head = createNode(chars.slice(0, separator).join(''), command.next);
  return { next: head, json: command.json };
}

export type LineParser = (
  rest: string,
  context: LineContext,
  instruction: string,
) => ParsedArguments;

/** Argument grammar per instruction name (lower case); ONBUILD is handled by the caller. */
export const LINE_PARSERS: Readonly<Record<string, LineParser>> = {
  add: parseMaybeJsonToList,
  arg: (rest, context) => parseNameOrNameValue(rest, context),
  cmd: parseMaybeJson,
  copy: parseMaybeJsonToList,
  entrypoint: parseMaybeJson,
  env: (rest, context) => parseNameValue(rest, 'ENV', context),
  expose: parseWhitespaceDelimited,
  from: parseWhitespaceDelimited,
  healthcheck: parseHealthConfig,
  label: (rest, context) => parseNameValue(rest, 'LABEL', context),
  maintainer: parseString,
  run: parseMaybeJson,
  shell: parseMaybeJson,
  stopsignal: parseString,
  user: parseString,
  volume: parseMaybeJsonToList,
  workdir: parseString,
};
