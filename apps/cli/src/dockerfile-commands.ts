import { readFile } from 'node:fs/promises';
import { Command, Option } from 'commander';
import {
  DockerfileParseError,
  dumpDockerfile,
  formatLintWarning,
  parseDockerfile,
  toJsonDocument,
} from '@kiln/dockerfile-parser';
import type { CliIo } from './program.js';
import { ExitCode } from './run-build.js';

/** Declares `kiln parse FILE`: BuildKit's S-expression dump, or the typed stages with --json. */
export function defineParseCommand(io: CliIo, setExitCode: (code: number) => void): Command {
  return new Command('parse')
    .description("Print how kiln parses a Dockerfile, in BuildKit's dump format or as JSON.")
    .argument('<file>', 'the Dockerfile')
    .option('--json', 'print the typed stages and instructions as JSON', false)
    .action(async (file: string, flags: { json: boolean }) => {
      setExitCode(
        await withDockerfile(file, io, (text) => {
          if (!flags.json) return dumpDockerfile(text);
          const parsed = parseDockerfile(text, { fileName: file });
          return `${JSON.stringify(toJsonDocument(parsed), null, 2)}\n`;
        }),
      );
    });
}

/**
 * Declares `kiln check FILE`: lint warnings as `FILE:LINE: RuleName: message`, or a JSON array
 * with --format json. The exit code is 1 when there is any warning.
 */
export function defineCheckCommand(io: CliIo, setExitCode: (code: number) => void): Command {
  return new Command('check')
    .description("Check a Dockerfile with the lint rules of BuildKit's --check.")
    .argument('<file>', 'the Dockerfile')
    .addOption(
      new Option('--format <format>', 'output format').choices(['text', 'json']).default('text'),
    )
    .action(async (file: string, flags: { format: 'text' | 'json' }) => {
      let warningCount = 0;
      const code = await withDockerfile(file, io, (text) => {
        const { warnings } = parseDockerfile(text, { fileName: file });
        warningCount = warnings.length;
        if (flags.format === 'json') return `${JSON.stringify(warnings, null, 2)}\n`;
        return warnings.map((warning) => `${formatLintWarning(warning)}\n`).join('');
      });
      setExitCode(code === ExitCode.Success && warningCount > 0 ? ExitCode.BuildError : code);
    });
}

/** Reads `file`, writes what `render` returns to stdout, and maps failures to exit codes. */
async function withDockerfile(
  file: string,
  io: CliIo,
  render: (text: string) => string,
): Promise<number> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    const reason = (error as NodeJS.ErrnoException).code === 'ENOENT' ? 'not found' : 'unreadable';
    io.stderr.write(`kiln: Dockerfile ${file} is ${reason}; pass the path of a readable file\n`);
    return ExitCode.UsageError;
  }
  try {
    io.stdout.write(render(text));
    return ExitCode.Success;
  } catch (error) {
    if (!(error instanceof DockerfileParseError)) throw error;
    if (error.location !== undefined) error.locate({ ...error.location, file }, text);
    let message = `kiln: error: ${error.message}\n`;
    if (error.snippet !== undefined) message += `${error.snippet}\n`;
    if (error.hint !== undefined) message += `hint: ${error.hint}\n`;
    io.stderr.write(message);
    return ExitCode.BuildError;
  }
}
