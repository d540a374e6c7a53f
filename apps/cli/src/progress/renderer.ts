import type { BuildEvent } from '@kiln/engine';

/** Something that shows a build's events: a live terminal view, plain lines or JSON lines. */
export interface ProgressRenderer {
  event(event: BuildEvent): void;
  /** Stops any redraw timer and leaves the output complete; call it once, on success or failure. */
  finish(): void;
}

/** The output stream a renderer writes to; `isTTY` and `columns` exist on a terminal. */
export interface ProgressStream {
  write(text: string): unknown;
  isTTY?: boolean;
  columns?: number;
}
