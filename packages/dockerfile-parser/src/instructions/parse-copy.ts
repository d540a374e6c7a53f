import { tryParseHeredocWord } from '../ast/heredoc.js';
import { heredocFiles, invalid, type ParseRequest } from './request.js';
import type { HeredocFile, Instruction } from './types.js';

const CHMOD_OCTAL = /^[0-7]{1,4}$/;
const CHMOD_SYMBOLIC = /^[ugoa]*[-+=][rwxXst]*(,[ugoa]*[-+=][rwxXst]*)*$/;

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

export function parseCopyOrAdd(request: ParseRequest): Instruction {
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
  // Two full literals rather than a shared object spread: spreads over many instruction
  // shapes made V8 copy properties slowly (twice the parse time on large files).
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
