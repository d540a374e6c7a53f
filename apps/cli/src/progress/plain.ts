import type { BuildEvent } from '@kiln/engine';
import { renderEvent } from '../render-events.js';
import type { Verbosity } from '../render-events.js';
import type { ProgressRenderer, ProgressStream } from './renderer.js';

/** Writes one line per event that the verbosity shows, for CI logs; optionally time-stamped. */
export class PlainProgress implements ProgressRenderer {
  constructor(
    private readonly stream: ProgressStream,
    private readonly verbosity: Verbosity,
    private readonly timestamps: boolean = false,
    private readonly now: () => number = Date.now,
  ) {}

  event(event: BuildEvent): void {
    const line = renderEvent(event, this.verbosity);
    if (line === undefined) return;
    const prefix = this.timestamps ? `${new Date(this.now()).toISOString()} ` : '';
    this.stream.write(`${prefix}${line}\n`);
  }

  finish(): void {}
}
