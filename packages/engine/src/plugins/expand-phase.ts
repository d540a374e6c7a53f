import {
  DockerfileParseError,
  parseAst,
  parseDockerfileNodes,
  parseInstructionNode,
} from '@kiln/dockerfile-parser';
import type {
  ExtensionInstruction,
  Node,
  ParsedDockerfile,
  ParseOptions,
  SourcedNode,
} from '@kiln/dockerfile-parser';
import type { BuildContextReader, CustomInstruction, PluginLogger } from '@kiln/plugin-api';
import { cancelledError } from '../errors.js';
import { pluginFailure } from './plugin-failure.js';
import type { PluginSet } from './plugin-set.js';

export interface ExpandPhaseOptions {
  context: BuildContextReader;
  /**
   * Build args (`--build-arg`), as expand handlers see them.
   * NOTE: ARG defaults in the Dockerfile are not included, because ARGs are resolved after expansion.
   */
  args: Readonly<Record<string, string>>;
  logger(plugin: string): PluginLogger;
  signal: AbortSignal;
}

/**
 * Runs the expand phase and parses the result: each instruction that an expand handler serves
 * is replaced by the instructions of the text the handler returns, which are expanded again,
 * so expansions nest. Every instruction keeps its own file in locations and errors.
 */
export async function parseWithPlugins(
  dockerfile: { file: string; text: string },
  parseOptions: ParseOptions & { fileName: string },
  plugins: PluginSet,
  options: ExpandPhaseOptions,
): Promise<ParsedDockerfile> {
  const file = parseOptions.fileName;
  const ast = parseText(dockerfile.text, file, false);
  const sources: Record<string, string> = { [file]: dockerfile.text };
  const entries = await expandNodes(ast.root.children, [file], plugins, options, sources);
  try {
    return parseDockerfileNodes(ast, entries, {
      ...parseOptions,
      extensionKeywords: plugins.extensionKeywords(),
      sources,
    });
  } catch (error) {
    if (error instanceof DockerfileParseError && error.snippet)
      error.message = `${error.message}\n${error.snippet}`;
    throw error;
  }
}

async function expandNodes(
  nodes: readonly Node[],
  fileStack: readonly string[],
  plugins: PluginSet,
  options: ExpandPhaseOptions,
  sources: Record<string, string>,
): Promise<SourcedNode[]> {
  const file = fileStack[fileStack.length - 1] as string;
  const expanded: SourcedNode[] = [];
  for (const node of nodes) {
    const provided = plugins.expandHandlers.get(node.value);
    if (provided === undefined) {
      expanded.push({ node, file });
      continue;
    }
    if (options.signal.aborted) throw cancelledError(options.signal.reason);

    const instruction = customInstruction(node, file);
    const where = `${file}:${node.startLine}`;
    let expansion;
    try {
      expansion = await provided.value.expand(instruction, {
        context: options.context,
        fileStack,
        args: options.args,
        logger: options.logger(provided.plugin.name),
        signal: options.signal,
      });
    } catch (error) {
      if (options.signal.aborted) throw cancelledError(options.signal.reason);
      throw pluginFailure(provided.plugin.name, `expanding ${node.keyword} at ${where}`, error);
    }
    sources[expansion.file] = expansion.text;
    const fragment = parseText(expansion.text, expansion.file, true).root.children;
    expanded.push(
      ...(await expandNodes(fragment, [...fileStack, expansion.file], plugins, options, sources)),
    );
  }
  return expanded;
}

// A fragment may hold no instruction (only comments), which a whole Dockerfile may not.
function parseText(text: string, file: string, fragment: boolean): ReturnType<typeof parseAst> {
  try {
    return parseAst(text, { allowEmpty: fragment });
  } catch (error) {
    if (!(error instanceof DockerfileParseError)) throw error;
    const location = error.location ?? { startLine: 1, endLine: 1 };
    error.locate({ ...location, file }, text);
    if (error.snippet) error.message = `${error.message}\n${error.snippet}`;
    throw error;
  }
}

/** Builds the instruction a plugin handler receives from a parse tree node. */
export function customInstruction(node: Node, file: string): CustomInstruction {
  const parsed = parseInstructionNode(node, file, new Set([node.value]));
  if (parsed.kind !== 'extension')
    throw new Error(`expected an extension instruction for ${node.value}`);
  return fromExtension(parsed);
}

/** Converts the parser's extension instruction to the plugin API's custom instruction. */
export function fromExtension(instruction: ExtensionInstruction): CustomInstruction {
  return {
    kind: instruction.name,
    keyword: instruction.keyword,
    original: instruction.original,
    args: [...instruction.args],
    flags: [...instruction.flags],
    node: instruction.node,
    location: instruction.location,
  };
}
