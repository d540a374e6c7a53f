import type { Node } from '../ast/node.js';
import { nodeArguments } from '../ast/node.js';
import { DockerfileParseError, type SourceLocation } from '../errors.js';
import { ownValue } from '../own.js';
import { parseFlags, type FlagSpec } from './flags.js';
import { parseCopyOrAdd } from './parse-copy.js';
import { parseHealthcheck } from './parse-healthcheck.js';
import { parseRun } from './parse-run.js';
import {
  commandForm,
  invalid,
  requireAtLeast,
  singleString,
  type ParseRequest,
} from './request.js';
import { suggestClosest } from './suggest.js';
import {
  INSTRUCTION_KINDS,
  type ArgDeclaration,
  type Instruction,
  type KeyValuePair,
} from './types.js';

const FLAG_SPECS: Readonly<Record<string, FlagSpec>> = {
  from: { platform: 'string' },
  run: { mount: 'strings', network: 'string', security: 'string' },
  copy: {
    from: 'string',
    chown: 'string',
    chmod: 'string',
    link: 'bool',
    parents: 'bool',
    exclude: 'strings',
  },
  add: {
    chown: 'string',
    chmod: 'string',
    link: 'bool',
    exclude: 'strings',
    checksum: 'string',
    'keep-git-dir': 'bool',
    unpack: 'bool',
  },
  healthcheck: {
    interval: 'string',
    timeout: 'string',
    'start-period': 'string',
    'start-interval': 'string',
    retries: 'string',
  },
};

const NO_EXTENSIONS: ReadonlySet<string> = new Set();

// The line parser keeps no arguments for a keyword it does not know, so they are split from the
// logical line: the words after the keyword and its leading `--flags`, quotes kept.
function extensionArguments(node: Node): string[] {
  const words = node.original.trim().split(/\s+/).slice(1);
  while (words[0]?.startsWith('--')) words.shift();
  return words;
}

const STAGE_NAME = /^[a-z][a-z0-9\-_.]*$/;

function keyValuePairs(request: ParseRequest): { pairs: KeyValuePair[]; legacyForm: boolean } {
  const values = request.args;
  if (values.length === 0 || values.length % 3 !== 0) {
    throw invalid(
      `${request.name.toUpperCase()} requires at least one argument`,
      `Write ${request.name.toUpperCase()} key=value.`,
    );
  }
  const pairs: KeyValuePair[] = [];
  for (let i = 0; i < values.length; i += 3) {
    const key = values[i] as string;
    if (key === '') {
      throw invalid(
        `${request.name.toUpperCase()} names can not be blank`,
        'Give every pair a name before the "=".',
      );
    }
    pairs.push({ key, value: values[i + 1] as string });
  }
  return { pairs, legacyForm: values[2] === '' };
}

// Docker reads a description for a stage or ARG from the comment lines right above it, when a
// line starts with the name followed by a space.
function descriptionComment(node: Node, name: string | undefined): string | undefined {
  if (name === undefined || name === '') return undefined;
  const line = node.prevComment.find((comment) => comment.startsWith(`${name} `));
  return line === undefined ? undefined : line.slice(name.length + 1);
}

function parseFrom(request: ParseRequest): Instruction {
  const { args } = request;
  if (args.length !== 1 && !(args.length === 3 && (args[1] as string).toLowerCase() === 'as')) {
    throw invalid(
      'FROM requires either one or three arguments',
      'Write "FROM image" or "FROM image AS name".',
    );
  }
  let stageName: string | undefined;
  if (args.length === 3) {
    stageName = (args[2] as string).toLowerCase();
    if (!STAGE_NAME.test(stageName)) {
      throw invalid(
        `invalid name for build stage: ${JSON.stringify(args[2])}, name can't start with a number or contain symbols`,
        'Stage names start with a letter and contain only letters, digits, "-", "_" and ".".',
      );
    }
  }
  return {
    location: request.base.location,
    original: request.base.original,
    keyword: request.base.keyword,
    kind: 'from',
    image: args[0] as string,
    platform: request.flags.strings.get('platform'),
    stageName,
    comment: descriptionComment(request.node, stageName),
  };
}

function parseArg(request: ParseRequest): Instruction {
  requireAtLeast(request, 1);
  const args: ArgDeclaration[] = request.args.map((word) => {
    const equals = word.indexOf('=');
    const name = equals < 0 ? word : word.slice(0, equals);
    if (name === '')
      throw invalid(
        `ARG names can not be blank: ${JSON.stringify(word)}`,
        'Write ARG name or ARG name=default.',
      );
    const declaration: ArgDeclaration =
      equals < 0 ? { name } : { name, value: word.slice(equals + 1) };
    const comment = descriptionComment(request.node, name);
    return comment === undefined ? declaration : { ...declaration, comment };
  });
  return {
    location: request.base.location,
    original: request.base.original,
    keyword: request.base.keyword,
    kind: 'arg',
    args,
  };
}

function parseOnbuild(request: ParseRequest): Instruction {
  const child = request.node.next?.children[0];
  if (child === undefined)
    throw invalid(
      'ONBUILD requires at least one argument',
      'Write ONBUILD followed by an instruction.',
    );
  const forbidden: Record<string, string> = {
    onbuild: "Chaining ONBUILD via `ONBUILD ONBUILD` isn't allowed",
    from: "FROM isn't allowed as an ONBUILD trigger",
    maintainer: "MAINTAINER isn't allowed as an ONBUILD trigger",
  };
  const reason = ownValue(forbidden, child.value);
  if (reason !== undefined)
    throw invalid(reason, 'Use another instruction as the ONBUILD trigger.');
  // The low-level parser attaches heredoc bodies and lines to the ONBUILD node itself.
  const trigger = parseInstructionNode({
    ...child,
    heredocs: request.node.heredocs,
    startLine: request.node.startLine,
    endLine: request.node.endLine,
    startColumn: request.node.startColumn,
  });
  return {
    location: request.base.location,
    original: request.base.original,
    keyword: request.base.keyword,
    kind: 'onbuild',
    expression: child.original.trim(),
    trigger,
  };
}

type InstructionParser = (request: ParseRequest) => Instruction;

const PARSERS: Readonly<Record<string, InstructionParser>> = {
  from: parseFrom,
  run: parseRun,
  cmd: (request) => ({
    location: request.base.location,
    original: request.base.original,
    keyword: request.base.keyword,
    kind: 'cmd',
    command: commandForm(request),
  }),
  entrypoint: (request) => ({
    location: request.base.location,
    original: request.base.original,
    keyword: request.base.keyword,
    kind: 'entrypoint',
    command: commandForm(request),
  }),
  shell: (request) => {
    if (!request.node.json) {
      throw invalid(
        'SHELL requires the arguments to be in JSON form',
        'Write SHELL ["executable", "parameters"].',
      );
    }
    requireAtLeast(request, 1);
    return {
      location: request.base.location,
      original: request.base.original,
      keyword: request.base.keyword,
      kind: 'shell',
      shell: request.args,
    };
  },
  env: (request) => {
    const { pairs, legacyForm } = keyValuePairs(request);
    return {
      location: request.base.location,
      original: request.base.original,
      keyword: request.base.keyword,
      kind: 'env',
      pairs,
      legacyForm,
    };
  },
  label: (request) => {
    const { pairs, legacyForm } = keyValuePairs(request);
    return {
      location: request.base.location,
      original: request.base.original,
      keyword: request.base.keyword,
      kind: 'label',
      pairs,
      legacyForm,
    };
  },
  arg: parseArg,
  expose: (request) => {
    requireAtLeast(request, 1);
    return {
      location: request.base.location,
      original: request.base.original,
      keyword: request.base.keyword,
      kind: 'expose',
      ports: request.args,
    };
  },
  copy: parseCopyOrAdd,
  add: parseCopyOrAdd,
  volume: (request) => {
    requireAtLeast(request, 1);
    for (const path of request.args) {
      if (path.trim() === '')
        throw invalid('VOLUME specified can not be an empty string', 'Give every volume a path.');
    }
    return {
      location: request.base.location,
      original: request.base.original,
      keyword: request.base.keyword,
      kind: 'volume',
      paths: request.args,
    };
  },
  user: (request) => ({
    location: request.base.location,
    original: request.base.original,
    keyword: request.base.keyword,
    kind: 'user',
    user: singleString(request),
  }),
  workdir: (request) => ({
    location: request.base.location,
    original: request.base.original,
    keyword: request.base.keyword,
    kind: 'workdir',
    path: singleString(request),
  }),
  onbuild: parseOnbuild,
  stopsignal: (request) => ({
    location: request.base.location,
    original: request.base.original,
    keyword: request.base.keyword,
    kind: 'stopsignal',
    signal: singleString(request),
  }),
  healthcheck: parseHealthcheck,
  maintainer: (request) => ({
    location: request.base.location,
    original: request.base.original,
    keyword: request.base.keyword,
    kind: 'maintainer',
    maintainer: singleString(request),
  }),
};

/**
 * Turns one low-level node into a typed instruction: arity, flags and argument grammar are
 * checked, and any error is given the node's lines here, in one place.
 */
export function parseInstructionNode(
  node: Node,
  file?: string,
  extensionKeywords: ReadonlySet<string> = NO_EXTENSIONS,
): Instruction {
  const location: SourceLocation = { file, startLine: node.startLine, endLine: node.endLine };
  if (extensionKeywords.has(node.value)) {
    return {
      kind: 'extension',
      name: node.value,
      keyword: node.keyword,
      original: node.original,
      location,
      args: extensionArguments(node),
      flags: [...node.flags],
      node,
    };
  }
  try {
    const parser = ownValue(PARSERS, node.value);
    if (parser === undefined) {
      const suggestion = suggestClosest(node.keyword, INSTRUCTION_KINDS);
      const hint =
        suggestion === undefined
          ? 'Check the spelling of the instruction.'
          : `Did you mean ${suggestion.toUpperCase()}?`;
      const suffix = suggestion === undefined ? '' : ` (did you mean ${suggestion.toUpperCase()}?)`;
      throw new DockerfileParseError(`unknown instruction: ${node.keyword}${suffix}`, {
        code: 'UNKNOWN_INSTRUCTION',
        hint,
      });
    }
    const upper = node.value.toUpperCase();
    const flags = parseFlags(upper, node.flags, ownValue(FLAG_SPECS, node.value) ?? {});
    const keyword = node.keyword;
    return parser({
      node,
      name: node.value,
      args: nodeArguments(node),
      flags,
      base: { location, original: node.original, keyword },
    });
  } catch (error) {
    if (error instanceof DockerfileParseError && error.location === undefined) {
      error.locate({ ...location, column: node.startColumn });
    }
    throw error;
  }
}
