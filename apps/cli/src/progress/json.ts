import type { BuildEvent } from '@kiln/engine';
import type { ProgressRenderer, ProgressStream } from './renderer.js';

/**
 * Writes every event as one JSON object per line, with a `time` field (ISO 8601) added, for tools
 * that read kiln's progress. Registry events keep their nested `event` object.
 */
export class JsonProgress implements ProgressRenderer {
  constructor(
    private readonly stream: ProgressStream,
    private readonly now: () => number = Date.now,
  ) {}

  event(event: BuildEvent): void {
    this.stream.write(
      `${JSON.stringify({ time: new Date(this.now()).toISOString(), ...event })}\n`,
    );
  }

  /** Writes a final `error` record, so a reader of the stream sees why the build stopped. */
  error(message: string, code: string | undefined, hint: string | undefined): void {
    const record = { time: new Date(this.now()).toISOString(), type: 'error', message, code, hint };
    this.stream.write(`${JSON.stringify(record)}\n`);
  }

  finish(): void {}
}
