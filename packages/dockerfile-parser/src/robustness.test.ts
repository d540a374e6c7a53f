import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { DockerfileParseError } from './errors.js';
import { expandInstruction } from './instructions/expand.js';
import { parseDockerfile } from './stages/assemble.js';
import { conformanceDir } from './test-support/conformance-dir.js';

const GOLDEN = join(conformanceDir(), 'buildkit-parser/testfiles');

function goldenFiles(): string[] {
  if (!existsSync(GOLDEN)) throw new Error(`conformance data not found at ${GOLDEN}`);
  return readdirSync(GOLDEN).map((name) => readFileSync(join(GOLDEN, name, 'Dockerfile'), 'utf8'));
}

const SEEDS = [
  ...goldenFiles(),
  'FROM a AS b\nRUN --mount=type=cache,target=/c <<EOF\necho $X\nEOF\nCOPY --from=b <<F /f\nx\nF\n',
  '# escape=`\nARG V=1\nFROM img:${V:-2}\nHEALTHCHECK --interval=5s CMD true\nONBUILD ADD . /\n',
];

// Fragments that exercise the grammar: keywords, flags, quotes, escapes, expansions, heredocs.
const FRAGMENTS = [
  'FROM ',
  'RUN ',
  'COPY ',
  'ADD ',
  'ENV ',
  'ARG ',
  'LABEL ',
  'CMD ',
  'ENTRYPOINT ',
  'SHELL ',
  'HEALTHCHECK ',
  'ONBUILD ',
  'EXPOSE ',
  'VOLUME ',
  'USER ',
  'WORKDIR ',
  'STOPSIGNAL ',
  'MAINTAINER ',
  ' AS ',
  '--from=',
  '--mount=',
  '--chmod=',
  '--platform=',
  '--',
  '=',
  '"',
  "'",
  '\\',
  '`',
  '$',
  '${',
  '}',
  ':-',
  '#',
  '%',
  '/',
  '[',
  ']',
  ',',
  '<<',
  '<<-',
  '<<"',
  "<<'",
  'COPY <<',
  'RUN <<',
  'EOF',
  '\n',
  '\r\n',
  '\t',
  ' ',
  'a',
  'scratch',
  '0',
  '\uFEFF',
  '# escape=`\n',
  '# check=skip=all\n',
];

function assertOnlyParseErrors(text: string): void {
  try {
    const parsed = parseDockerfile(text, {
      buildArgs: { A: '1' },
      platform: { os: 'linux', architecture: 'amd64' },
    });
    for (const stage of parsed.stages) {
      for (const instruction of stage.instructions)
        expandInstruction(instruction, { A: '1' }, { escapeToken: parsed.escapeToken });
    }
  } catch (error) {
    expect(error).toBeInstanceOf(DockerfileParseError);
    // INTERNAL marks a bug that parseDockerfile wrapped; it must never happen.
    expect((error as DockerfileParseError).code).not.toBe('INTERNAL');
  }
}

describe('parser robustness', () => {
  it('throws only DockerfileParseError on random text', () => {
    fc.assert(fc.property(fc.string({ maxLength: 200, unit: 'binary' }), assertOnlyParseErrors), {
      numRuns: 400,
    });
  });

  it('throws only DockerfileParseError on fragment soup', () => {
    const soup = fc
      .array(fc.constantFrom(...FRAGMENTS), { maxLength: 60 })
      .map((parts) => parts.join(''));
    fc.assert(fc.property(soup, assertOnlyParseErrors), { numRuns: 600 });
  });

  it('throws only DockerfileParseError on mutated Dockerfiles', () => {
    const mutation = fc.record({
      seed: fc.constantFrom(...SEEDS),
      edits: fc.array(
        fc.record({
          at: fc.nat(),
          remove: fc.nat({ max: 4 }),
          insert: fc.oneof(fc.constantFrom(...FRAGMENTS), fc.string({ maxLength: 3 })),
        }),
        { minLength: 1, maxLength: 6 },
      ),
    });
    fc.assert(
      fc.property(mutation, ({ seed, edits }) => {
        let text = seed;
        for (const edit of edits) {
          const at = edit.at % (text.length + 1);
          text = text.slice(0, at) + edit.insert + text.slice(at + edit.remove);
        }
        assertOnlyParseErrors(text);
      }),
      { numRuns: 600 },
    );
  });
});

describe('prototype names', () => {
  it('treats __proto__ and constructor as ordinary names', () => {
    for (const name of ['__proto__', 'constructor', 'toString']) {
      expect(() => parseDockerfile(`${name} x\n`)).toThrow(/unknown instruction/);
      expect(() => parseDockerfile(`FROM a\nRUN --${name}=1 true\n`)).toThrow(/unknown flag/);
      const parsed = parseDockerfile(
        `ARG ${name}=v\nFROM img:\${${name}}\nARG ${name}\nENV ${name}=e\n`,
      );
      expect(parsed.stages[0]?.from.image).toBe('img:v');
      expect(Object.hasOwn(parsed.metaArgValues, name)).toBe(true);
    }
  });
});
