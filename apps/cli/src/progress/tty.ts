import type { BuildEvent } from '@kiln/engine';
import { renderEvent } from '../render-events.js';
import type { Verbosity } from '../render-events.js';
import type { BuildRecord, StepRecord, TransferRecord } from './build-record.js';
import { formatBytes, formatDuration, formatRate, shortDigest } from './format.js';
import type { ProgressRenderer, ProgressStream } from './renderer.js';

/** Lines of a running step's output kept under it in the live area. */
const OUTPUT_LINES = 5;
const REDRAW_MS = 200;

export interface TtyProgressOptions {
  verbosity: Verbosity;
  /** The build's record; the caller records each event in it before passing the event on. */
  record: BuildRecord;
  now?: () => number;
  /** Redraw period in ms, for the running times; 0 redraws only on events (tests use 0). */
  redrawMs?: number;
}

/**
 * A live terminal view. Finished steps, stage starts, warnings and outputs are printed once and
 * stay; below them a live area shows the running step with its elapsed time and last output
 * lines, and each blob transfer with bytes, total and rate. The live area is redrawn in place
 * with ANSI cursor movement.
 */
export class TtyProgress implements ProgressRenderer {
  readonly record: BuildRecord;
  private readonly now: () => number;
  private readonly verbosity: Verbosity;
  private liveLines = 0;
  private output: string[] = [];
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly stream: ProgressStream,
    options: TtyProgressOptions,
  ) {
    this.now = options.now ?? Date.now;
    this.verbosity = options.verbosity;
    this.record = options.record;
    const period = options.redrawMs ?? REDRAW_MS;
    if (period > 0) {
      this.timer = setInterval(() => this.redraw([]), period);
      this.timer.unref();
    }
  }

  event(event: BuildEvent): void {
    const permanent: string[] = [];
    switch (event.type) {
      case 'step-start':
        this.output = [];
        break;
      case 'step-output':
        this.output.push(event.line);
        if (this.output.length > OUTPUT_LINES) this.output.shift();
        break;
      case 'step-done': {
        const step = this.record.steps.find(
          (s) => s.stage === event.stage && s.step === event.step,
        );
        if (step) permanent.push(finishedStepLine(step));
        this.output = [];
        break;
      }
      case 'registry':
        break;
      default: {
        const line = renderEvent(event, this.verbosity);
        if (line !== undefined) permanent.push(line);
      }
    }
    this.redraw(permanent);
  }

  finish(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    this.clearLive();
    this.output = [];
  }

  /** Replaces the live area with `permanent` lines (printed once) and a fresh live area. */
  private redraw(permanent: string[]): void {
    let text = this.clearLiveText();
    // A pseudo-terminal without a size reports 0 columns.
    const width = Math.max(20, this.stream.columns || 80);
    for (const line of permanent) text += `${line}\n`;
    const live = this.liveArea().map((line) => truncate(line, width));
    for (const line of live) text += `${line}\n`;
    this.liveLines = live.length;
    if (text !== '') this.stream.write(text);
  }

  private clearLive(): void {
    const text = this.clearLiveText();
    this.liveLines = 0;
    if (text !== '') this.stream.write(text);
  }

  /** Moves the cursor to the first live line and erases to the end of the screen. */
  private clearLiveText(): string {
    return this.liveLines === 0 ? '' : `\x1b[${this.liveLines}F\x1b[J`;
  }

  private liveArea(): string[] {
    const now = this.now();
    const lines: string[] = [];
    const step = this.record.currentStep;
    if (step) {
      lines.push(`=> ${stepLabel(step)}  running ${formatDuration(now - step.startedAt)}`);
      for (const line of this.output) lines.push(`   | ${line}`);
    }
    for (const transfer of this.record.transfers.values()) {
      if (!transfer.done) lines.push(transferLine(transfer, now));
    }
    return lines;
  }
}

function stepLabel(step: StepRecord): string {
  return `[${step.stage}:${step.step}/${step.steps}] ${step.instruction}`;
}

function finishedStepLine(step: StepRecord): string {
  const layer = step.layerSize === undefined ? '' : `, ${formatBytes(step.layerSize)}`;
  if (step.cache === 'hit') return `=> CACHED ${stepLabel(step)}${layer}`;
  return `=> ${stepLabel(step)}  done ${formatDuration(step.durationMs ?? 0)}${layer}`;
}

function transferLine(transfer: TransferRecord, now: number): string {
  const verb = transfer.direction === 'pull' ? 'pulling' : 'pushing';
  const total = transfer.total === undefined ? '' : ` / ${formatBytes(transfer.total)}`;
  const rate = formatRate(transfer.bytes, now - transfer.startedAt);
  const bar = transfer.total ? `${progressBar(transfer.bytes / transfer.total)} ` : '';
  return `   ${verb} ${shortDigest(transfer.digest)} ${bar} ${formatBytes(transfer.bytes)}${total}${rate ? `  ${rate}` : ''}`;
}

const BAR_WIDTH = 20;

/** Draws a fraction from 0 to 1 as `[=====>     ]`. */
function progressBar(fraction: number): string {
  const filled = Math.round(Math.min(1, Math.max(0, fraction)) * BAR_WIDTH);
  const head = filled > 0 && filled < BAR_WIDTH ? '>' : '';
  const body = '='.repeat(filled - head.length);
  return `[${body}${head}${' '.repeat(BAR_WIDTH - filled)}]`;
}

function truncate(line: string, width: number): string {
  return line.length <= width ? line : `${line.slice(0, width - 3)}...`;
}
