import { Command } from 'commander';

/** Builds the `kiln` command tree; `main.ts` runs it against `process.argv`. */
export function createProgram(): Command {
  const program = new Command('kiln')
    .description('Build OCI images from Dockerfiles without a daemon.')
    .version('0.1.0');
  program.command('build').description('Build an image from a Dockerfile and push or save it.');
  return program;
}
