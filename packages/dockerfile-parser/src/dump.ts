import { parseAst } from './ast/parse.js';
import { dumpNode } from './ast/node.js';

/**
 * Parses Dockerfile text and returns BuildKit's S-expression dump of the low-level tree, one
 * instruction per line, ending in a newline (what `kiln parse` prints).
 */
export function dumpDockerfile(text: string): string {
  return `${dumpNode(parseAst(text).root)}\n`;
}
