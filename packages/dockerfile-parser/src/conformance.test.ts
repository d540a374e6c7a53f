import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseAst } from './ast/parse.js';
import { dumpNode } from './ast/node.js';
import { DockerfileParseError } from './errors.js';
import { conformanceDir } from './test-support/conformance-dir.js';

// BuildKit's parser test data, read in place from the shared folder next to the repository.
const CONFORMANCE = conformanceDir();
const PARSER_DATA = join(CONFORMANCE, 'buildkit-parser');

function requireFolder(path: string): string {
  if (!existsSync(path)) throw new Error(`conformance data not found at ${path}`);
  return path;
}

function caseNames(folder: string): string[] {
  return readdirSync(requireFolder(folder)).sort();
}

describe('BuildKit parser golden files', () => {
  const folder = join(PARSER_DATA, 'testfiles');

  it('folder exists and has cases', () => {
    expect(caseNames(folder).length).toBeGreaterThan(0);
  });

  for (const name of existsSync(folder) ? caseNames(folder) : []) {
    it(`dumps ${name}`, () => {
      const text = readFileSync(join(folder, name, 'Dockerfile'), 'utf8');
      const expected = readFileSync(join(folder, name, 'result'), 'utf8');
      expect(`${dumpNode(parseAst(text).root)}\n`).toBe(expected);
    });
  }
});

describe('BuildKit parser negative files', () => {
  const folder = join(PARSER_DATA, 'testfiles-negative');

  it('folder exists and has cases', () => {
    expect(caseNames(folder).length).toBeGreaterThan(0);
  });

  for (const name of existsSync(folder) ? caseNames(folder) : []) {
    it(`rejects ${name}`, () => {
      const text = readFileSync(join(folder, name, 'Dockerfile'), 'utf8');
      expect(() => parseAst(text)).toThrow(DockerfileParseError);
    });
  }
});

describe('BuildKit parser line numbers', () => {
  it('matches the node ranges of testfile-line', () => {
    const text = readFileSync(
      join(requireFolder(join(PARSER_DATA, 'testfile-line')), 'Dockerfile'),
      'utf8',
    );
    const ranges = parseAst(text).root.children.map((node) => [node.startLine, node.endLine]);
    expect(ranges).toEqual([
      [5, 5],
      [11, 12],
      [17, 31],
    ]);
  });
});
