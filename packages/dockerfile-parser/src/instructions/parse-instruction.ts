import { chompHeredocContent, tryParseHeredocWord } from '../ast/heredoc.js';
import { nodeArguments, type Node } from '../ast/node.js';
import { DockerfileParseError, type SourceLocation } from '../errors.js';
import { parseGoDuration } from './duration.js';
import { parseFlags, type FlagSpec, type ParsedFlags } from './flags.js';
import { parseRunMount } from './mount.js';
import { suggestClosest } from './suggest.js';
import {
  INSTRUCTION_KINDS,
  type ArgDeclaration,
  type CommandForm,
  type HeredocFile,
  type Instruction,
  type KeyValuePair,
} from './types.js';
import { ownValue } from '../own.js';

// The input of every instruction parser: the node, its arguments and its validated flags.
interface ParseRequest {
  node: Node;
  name: string;
  args: string[];
  flags: ParsedFlags;
  base: { location: SourceLocation; original: string; keyword: string };
}

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

const STAGE_NAME = /^[a-z][a-z0-9\-_.]*$/;
const CHMOD_OCTAL = /^[0-7]{1,4}$/;
const CHMOD_SYMBOLIC = /^[ugoa]*[-+=][rwxXst]*(,[ugoa]*[-+=][rwxXst]*)*$/;

function invalid(message: string, hint: string, code = 'INVALID_ARGUMENT'): DockerfileParseError {
  return new DockerfileParseError(message, { code, hint });
}

function requireAtLeast(request: ParseRequest, count: number, what = 'argument'): void {
  if (request.args.length < count) {
    const upper = request.name.toUpperCase();
    throw invalid(
      `${upper} requires at least ${count === 1 ? `one ${what}` : `${count} ${what}s`}`,
      `See the ${upper} reference: https://docs.docker.com/reference/dockerfile/#${request.name}`,
    );
  }
}

function requireExactly(request: ParseRequest, count: number): void {
  if (request.args.length !== count) {
    const upper = request.name.toUpperCase();
    throw invalid(
      `${upper} requires exactly ${count === 1 ? 'one argument' : `${count} arguments`}`,
      `See the ${upper} reference: https://docs.docker.com/reference/dockerfile/#${request.name}`,
    );
  }
}

function commandForm(request: ParseRequest): CommandForm {
  if (request.node.json) return { form: 'exec', args: request.args };
  if (request.args.length === 0) return { form: 'exec', args: [] };
  return { form: 'shell', command: request.args.join(' ') };
}

function heredocFiles(node: Node): HeredocFile[] {
  return node.heredocs.map((heredoc) => ({
    name: heredoc.name,
    content: heredoc.chomp ? chompHeredocContent(heredoc.content) : heredoc.content,
    expand: heredoc.expand,
    chomp: heredoc.chomp,
    fileDescriptor: heredoc.fileDescriptor,
  }));
}

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

function parseRun(request: ParseRequest): Instruction {
  requireAtLeast(request, 1);
  const network = request.flags.strings.get('network');
  if (network !== undefined && !['default', 'none', 'host'].includes(network)) {
    throw invalid(
      `unsupported network mode ${JSON.stringify(network)}`,
      'Use --network=default, none or host.',
      'INVALID_FLAG',
    );
  }
  const security = request.flags.strings.get('security');
  if (security !== undefined && !['sandbox', 'insecure'].includes(security)) {
    throw invalid(
      `unsupported security mode ${JSON.stringify(security)}`,
      'Use --security=sandbox or insecure.',
      'INVALID_FLAG',
    );
  }
  return {
    location: request.base.location,
    original: request.base.original,
    keyword: request.base.keyword,
    kind: 'run',
    command: commandForm(request),
    mounts: (request.flags.lists.get('mount') ?? []).map(parseRunMount),
    network: network as 'default' | 'none' | 'host' | undefined,
    security: security as 'sandbox' | 'insecure' | undefined,
    heredocs: heredocFiles(request.node),
  };
}

function validateChmod(chmod: string | undefined): void {
  if (chmod === undefined || chmod.includes('$')) return;
  if (!CHMOD_OCTAL.test(chmod) && !CHMOD_SYMBOLIC.test(chmod)) {
    throw invalid(
      `invalid chmod parameter: ${JSON.stringify(chmod)}`,
      'Use an octal mode such as 0755 or a symbolic mode such as u+x.',
      'INVALID_FLAG',
    );
  }
}

function parseCopyOrAdd(request: ParseRequest): Instruction {
  const upper = request.name.toUpperCase();
  if (request.args.length < 2) {
    throw invalid(
      `${upper} requires at least two arguments, but only ${request.args.length === 0 ? 'none were' : 'one was'} provided. Destination could not be determined.`,
      `Write ${upper} SOURCE... DESTINATION.`,
    );
  }
  const { flags, node } = request;
  const chmod = flags.strings.get('chmod');
  validateChmod(chmod);

  // A source word that names one of the line's heredocs is an inline file, not a path.
  const heredocs = heredocFiles(node);
  const sources: string[] = [];
  const sourceContents: HeredocFile[] = [];
  for (const source of request.args.slice(0, -1)) {
    const header = node.json ? undefined : tryParseHeredocWord(source);
    const inline =
      header === undefined ? undefined : heredocs.find((heredoc) => heredoc.name === header.name);
    if (inline !== undefined) sourceContents.push(inline);
    else sources.push(source);
  }

  const destination = request.args[request.args.length - 1] as string;
  const chown = flags.strings.get('chown');
  const link = flags.bools.get('link') ?? false;
  const exclude = flags.lists.get('exclude') ?? [];
  const { location, original, keyword } = request.base;
  if (request.name === 'copy') {
    return {
      kind: 'copy',
      location,
      original,
      keyword,
      sources,
      sourceContents,
      destination,
      chown,
      chmod,
      link,
      exclude,
      from: flags.strings.get('from'),
      parents: flags.bools.get('parents') ?? false,
    };
  }
  return {
    kind: 'add',
    location,
    original,
    keyword,
    sources,
    sourceContents,
    destination,
    chown,
    chmod,
    link,
    exclude,
    checksum: flags.strings.get('checksum'),
    keepGitDir: flags.bools.get('keep-git-dir'),
    unpack: flags.bools.get('unpack'),
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

function parseHealthcheck(request: ParseRequest): Instruction {
  requireAtLeast(request, 1);
  const type = (request.args[0] as string).toUpperCase();
  const rest = request.args.slice(1);
  if (type === 'NONE') {
    if (rest.length > 0)
      throw invalid('HEALTHCHECK NONE takes no arguments', 'Write HEALTHCHECK NONE alone.');
    if (request.node.flags.length > 0)
      throw invalid('HEALTHCHECK NONE takes no flags', 'Remove the flags.', 'INVALID_FLAG');
    return {
      location: request.base.location,
      original: request.base.original,
      keyword: request.base.keyword,
      kind: 'healthcheck',
      test: ['NONE'],
    };
  }
  if (type !== 'CMD') {
    throw invalid(
      `unknown type ${JSON.stringify(request.args[0])} in HEALTHCHECK (try CMD)`,
      'Write HEALTHCHECK CMD command or HEALTHCHECK NONE.',
    );
  }
  if (rest.length === 0)
    throw invalid(
      'missing command after HEALTHCHECK CMD',
      'Write HEALTHCHECK CMD followed by the command.',
    );

  const test = request.node.json ? ['CMD', ...rest] : ['CMD-SHELL', rest.join(' ')];
  const duration = (flag: string): number | undefined => {
    const text = request.flags.strings.get(flag);
    if (text === undefined) return undefined;
    const value = parseGoDuration(text, flag);
    // Docker accepts 0 (use the default) or at least one millisecond.
    if (value !== 0 && value < 1e6) {
      throw invalid(
        `--${flag} cannot be less than 1ms`,
        `Give --${flag} 0 or a duration of at least 1ms.`,
        'INVALID_FLAG',
      );
    }
    return value;
  };
  const retriesText = request.flags.strings.get('retries');
  let retries: number | undefined;
  if (retriesText !== undefined) {
    retries = /^-?\d+$/.test(retriesText) ? Number.parseInt(retriesText, 10) : Number.NaN;
    if (Number.isNaN(retries))
      throw invalid(
        `invalid --retries value ${JSON.stringify(retriesText)}`,
        'Give --retries a whole number.',
        'INVALID_FLAG',
      );
    if (retries < 0)
      throw invalid('--retries cannot be negative', 'Give --retries 0 or more.', 'INVALID_FLAG');
  }
  return {
    location: request.base.location,
    original: request.base.original,
    keyword: request.base.keyword,
    kind: 'healthcheck',
    test,
    interval: duration('interval'),
    timeout: duration('timeout'),
    startPeriod: duration('start-period'),
    startInterval: duration('start-interval'),
    retries,
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

function singleString(request: ParseRequest): string {
  requireExactly(request, 1);
  return request.args[0] as string;
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
export function parseInstructionNode(node: Node, file?: string): Instruction {
  const location: SourceLocation = { file, startLine: node.startLine, endLine: node.endLine };
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
