import type { SourceLocation } from '@kiln/dockerfile-parser';
import type {
  CustomInstruction,
  ExpandContext,
  ExpandInstructionHandler,
  Expansion,
} from '@kiln/plugin-api';
import { IncludeError } from './errors.js';
import { parseIncludeLine, resolveIncludePath } from './include-path.js';

// A parser directive is a `# name=value` line before any other line; BuildKit reads them only there.
const DIRECTIVE = /^#\s*([A-Za-z][A-Za-z0-9]*)\s*=\s*(.*?)\s*$/;

// Returns the 1-based line of an `escape` directive at the top of `text`, if it has one.
function escapeDirectiveLine(text: string): number | undefined {
  const lines = text.replace(/^\uFEFF/, '').split(/\r?\n/);
  for (const [index, line] of lines.entries()) {
    const match = DIRECTIVE.exec(line);
    if (match === null) return undefined;
    if (match[1]?.toLowerCase() === 'escape') return index + 1;
  }
  return undefined;
}

/**
 * Expands `INCLUDE [--optional] PATH` into the text of the file at PATH in the build context.
 * The engine parses the returned text in place of the instruction, with source locations in
 * that file, and expands INCLUDE lines in it the same way.
 */
export async function expandInclude(
  instruction: CustomInstruction,
  context: ExpandContext,
): Promise<Expansion> {
  context.signal.throwIfAborted();
  const includingFile = instruction.location.file ?? context.fileStack.at(-1) ?? 'Dockerfile';
  const location: SourceLocation = { ...instruction.location, file: includingFile };
  const request = parseIncludeLine(instruction.original, context.args, location);
  const file = resolveIncludePath(
    request.path,
    includingFile,
    context.fileStack.length > 1,
    location,
  );

  if (context.fileStack.includes(file)) {
    const chain = [...context.fileStack, file].join(' -> ');
    throw new IncludeError('INCLUDE_CYCLE', `INCLUDE cycle: ${chain}`, {
      location,
      hint: `Remove the INCLUDE of ${file} from ${includingFile}, or move the shared lines to a file that includes nothing.`,
    });
  }

  const info = await context.context.stat(file);
  if (info === undefined) {
    if (request.optional) {
      context.logger.debug('optional include not found', { file, includedFrom: includingFile });
      return { text: '', file };
    }
    throw new IncludeError(
      'FILE_NOT_FOUND',
      `included file ${file} not found in the build context`,
      {
        location,
        hint: 'Check the path (relative to the including file) and that .dockerignore does not exclude it, or use INCLUDE --optional.',
      },
    );
  }
  if (info.type !== 'file') {
    throw new IncludeError('NOT_A_FILE', `included path ${file} is a ${info.type}, not a file`, {
      location,
      hint: 'INCLUDE a Dockerfile, not a directory or link.',
    });
  }

  const text = await context.context.readText(file);
  const escapeLine = escapeDirectiveLine(text);
  if (escapeLine !== undefined) {
    throw new IncludeError('ESCAPE_DIRECTIVE', 'an included file cannot set the escape directive', {
      location: { file, startLine: escapeLine, endLine: escapeLine },
      hint: `Remove the escape directive from ${file}: included lines use the escape character of the file that includes them.`,
    });
  }
  return { text, file };
}

/** The expand-phase handler for the INCLUDE keyword. */
export const includeHandler: ExpandInstructionHandler = {
  phase: 'expand',
  keyword: 'include',
  expand: expandInclude,
};
