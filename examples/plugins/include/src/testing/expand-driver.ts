import { DockerfileParseError, nodeArguments, parseAst, type Node } from '@kiln/dockerfile-parser';
import type {
  BuildContextReader,
  CustomInstruction,
  ExpandInstructionHandler,
  PluginLogger,
} from '@kiln/plugin-api';

/** An instruction node after expansion, with the file it came from. */
export interface ExpandedNode {
  node: Node;
  file: string;
}

export interface ExpandOptions {
  context: BuildContextReader;
  args?: Readonly<Record<string, string>>;
  logger?: PluginLogger;
  signal?: AbortSignal;
}

const silentLogger: PluginLogger = { debug() {}, info() {}, warn() {}, error() {} };

// Parses one file's text; an included file may hold no instruction (only comments, or nothing),
// which the parser rejects for a whole Dockerfile. Errors get the file's name.
function parseFragment(text: string, file: string, included: boolean): readonly Node[] {
  try {
    return parseAst(text).root.children;
  } catch (error) {
    if (!(error instanceof DockerfileParseError)) throw error;
    if (included && error.code === 'EMPTY_DOCKERFILE') return [];
    throw error.locate({ ...(error.location ?? { startLine: 1, endLine: 1 }), file }, text);
  }
}

/**
 * Runs the expand phase as the engine is meant to: every instruction whose keyword has an
 * expand handler is replaced by the instructions of the text it returns, parsed with that
 * text's file name and expanded again, so includes nest.
 */
export async function expandDockerfile(
  text: string,
  file: string,
  handlers: readonly ExpandInstructionHandler[],
  options: ExpandOptions,
  fileStack: readonly string[] = [file],
): Promise<ExpandedNode[]> {
  const expanded: ExpandedNode[] = [];
  for (const node of parseFragment(text, file, fileStack.length > 1)) {
    const handler = handlers.find((candidate) => candidate.keyword === node.value);
    if (handler === undefined) {
      expanded.push({ node, file });
      continue;
    }

    const instruction: CustomInstruction = {
      kind: node.value,
      keyword: node.keyword,
      original: node.original,
      args: nodeArguments(node),
      flags: [...node.flags],
      node,
      location: { file, startLine: node.startLine, endLine: node.endLine },
    };
    const expansion = await handler.expand(instruction, {
      context: options.context,
      fileStack,
      args: options.args ?? {},
      logger: options.logger ?? silentLogger,
      signal: options.signal ?? new AbortController().signal,
    });
    const nested = await expandDockerfile(expansion.text, expansion.file, handlers, options, [
      ...fileStack,
      expansion.file,
    ]);
    expanded.push(...nested);
  }
  return expanded;
}
