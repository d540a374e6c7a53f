import { chompHeredocContent } from '../ast/heredoc.js';
import type { Node } from '../ast/node.js';
import { DockerfileParseError, type SourceLocation } from '../errors.js';
import type { ParsedFlags } from './flags.js';
import type { CommandForm, HeredocFile } from './types.js';

// The input of every instruction parser: the node, its arguments and its validated flags.
export interface ParseRequest {
  node: Node;
  name: string;
  args: string[];
  flags: ParsedFlags;
  base: { location: SourceLocation; original: string; keyword: string };
}

export function invalid(
  message: string,
  hint: string,
  code = 'INVALID_ARGUMENT',
): DockerfileParseError {
  return new DockerfileParseError(message, { code, hint });
}

export function requireAtLeast(request: ParseRequest, count: number, what = 'argument'): void {
  if (request.args.length < count) {
    const upper = request.name.toUpperCase();
    throw invalid(
      `${upper} requires at least ${count === 1 ? `one ${what}` : `${count} ${what}s`}`,
      `See the ${upper} reference: https://docs.docker.com/reference/dockerfile/#${request.name}`,
    );
  }
}

export function requireExactly(request: ParseRequest, count: number): void {
  if (request.args.length !== count) {
    const upper = request.name.toUpperCase();
    throw invalid(
      `${upper} requires exactly ${count === 1 ? 'one argument' : `${count} arguments`}`,
      `See the ${upper} reference: https://docs.docker.com/reference/dockerfile/#${request.name}`,
    );
  }
}

export function commandForm(request: ParseRequest): CommandForm {
  if (request.node.json) return { form: 'exec', args: request.args };
  if (request.args.length === 0) return { form: 'exec', args: [] };
  return { form: 'shell', command: request.args.join(' ') };
}

export function heredocFiles(node: Node): HeredocFile[] {
  return node.heredocs.map((heredoc) => ({
    name: heredoc.name,
    content: heredoc.chomp ? chompHeredocContent(heredoc.content) : heredoc.content,
    expand: heredoc.expand,
    chomp: heredoc.chomp,
    fileDescriptor: heredoc.fileDescriptor,
  }));
}

export function singleString(request: ParseRequest): string {
  requireExactly(request, 1);
  return request.args[0] as string;
}
