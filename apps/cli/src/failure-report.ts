import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { renderSnippet } from '@kiln/dockerfile-parser';
import type { StepRecord } from './progress/build-record.js';

/**
 * Returns the Dockerfile lines around the step that failed, with its line marked and a
 * `FILE:LINE` heading, or undefined when the file cannot be read again. The file is looked up
 * as the engine does: a relative --dockerfile against the working directory, then the context.
 */
export async function failingStepSnippet(
  step: StepRecord,
  context: string,
  dockerfile: string | undefined,
): Promise<string | undefined> {
  const candidates =
    dockerfile === undefined
      ? [path.join(context, 'Dockerfile')]
      : path.isAbsolute(dockerfile)
        ? [dockerfile]
        : [path.resolve(dockerfile), path.join(context, dockerfile)];
  for (const file of candidates) {
    const text = await readFile(file, 'utf8').catch(() => undefined);
    if (text === undefined) continue;
    const location = { file: path.basename(file), startLine: step.line, endLine: step.line };
    return `${path.basename(file)}:${step.line}\n${renderSnippet(text, location)}\n`;
  }
  return undefined;
}

/**
 * Formats a build failure: the message, the Dockerfile lines of the failing step when known,
 * each cause's message in plain words, and the hint. Stacks are added only when debugging.
 */
export function formatBuildError(
  error: unknown,
  withStack: boolean,
  snippet: string | undefined = undefined,
): string {
  if (!(error instanceof Error)) return `kiln: error: ${String(error)}\n`;
  const hint = (error as { hint?: unknown }).hint;
  let text = `kiln: error: ${error.message}\n`;
  if (snippet !== undefined) text += snippet;
  let cause: unknown = error.cause;
  while (cause instanceof Error && !withStack) {
    if (!error.message.includes(cause.message)) text += `caused by: ${cause.message}\n`;
    cause = cause.cause;
  }
  if (typeof hint === 'string' && hint !== '') text += `hint: ${hint}\n`;
  if (withStack) {
    let current: unknown = error;
    while (current instanceof Error) {
      text += `${current.stack ?? current.message}\n`;
      current = current.cause;
      if (current instanceof Error) text += 'caused by: ';
    }
  }
  return text;
}
