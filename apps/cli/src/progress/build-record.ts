import type { BuildEvent } from '@kiln/engine';

/** One Dockerfile step as the progress display and the metadata file see it. */
export interface StepRecord {
  stage: number;
  step: number;
  steps: number;
  instruction: string;
  /** 1-based line of the instruction in the Dockerfile. */
  line: number;
  startedAt: number;
  durationMs: number | undefined;
  /** `hit` or `miss` with a layer cache; `none` when no cache was consulted. */
  cache: string | undefined;
  layerSize: number | undefined;
}

export interface StageRecord {
  index: number;
  name: string | undefined;
  base: string;
  startedAt: number;
  /** Milliseconds from this stage's start to the next stage's start, or to the image assembly. */
  durationMs: number | undefined;
}

/** A registry blob transfer in flight or finished. */
export interface TransferRecord {
  direction: 'push' | 'pull';
  digest: string;
  bytes: number;
  total: number | undefined;
  startedAt: number;
  done: boolean;
}

/**
 * Accumulates a build's events into steps, stages, transfers and byte counts, for the live view,
 * the summary and the metadata file. `now` is injectable so recorded sequences replay exactly.
 */
export class BuildRecord {
  readonly steps: StepRecord[] = [];
  readonly stages: StageRecord[] = [];
  readonly transfers = new Map<string, TransferRecord>();
  readonly warnings: string[] = [];
  startedAt: number;
  durationMs: number | undefined;
  bytesPulled = 0;
  bytesPushed = 0;
  cacheHits = 0;
  cacheMisses = 0;

  constructor(private readonly now: () => number = Date.now) {
    this.startedAt = now();
  }

  /** The step that started last and has not finished, if any. */
  get currentStep(): StepRecord | undefined {
    const last = this.steps.at(-1);
    return last && last.durationMs === undefined ? last : undefined;
  }

  record(event: BuildEvent): void {
    const now = this.now();
    switch (event.type) {
      case 'build-start':
        this.startedAt = now;
        break;
      case 'warning':
        this.warnings.push(event.message);
        break;
      case 'stage-start':
        this.closeStage(now);
        this.stages.push({
          index: event.stage,
          name: event.name,
          base: event.base,
          startedAt: now,
          durationMs: undefined,
        });
        break;
      case 'step-start':
        this.steps.push({
          stage: event.stage,
          step: event.step,
          steps: event.steps,
          instruction: event.instruction,
          line: event.line,
          startedAt: now,
          durationMs: undefined,
          cache: undefined,
          layerSize: undefined,
        });
        break;
      case 'step-done': {
        const step = this.steps.find((s) => s.stage === event.stage && s.step === event.step);
        if (!step) break;
        step.durationMs = event.durationMs;
        step.cache = String(event.cache);
        step.layerSize = event.layer?.size;
        if (step.cache === 'hit') this.cacheHits++;
        if (step.cache === 'miss') this.cacheMisses++;
        break;
      }
      case 'image-assembled':
        this.closeStage(now);
        break;
      case 'registry':
        this.recordRegistry(event.event, now);
        break;
      case 'build-done':
        this.closeStage(now);
        this.durationMs = event.durationMs;
        break;
      default:
        break;
    }
  }

  private closeStage(now: number): void {
    const open = this.stages.at(-1);
    if (open && open.durationMs === undefined) open.durationMs = now - open.startedAt;
  }

  private recordRegistry(event: Extract<BuildEvent, { type: 'registry' }>['event'], now: number) {
    switch (event.type) {
      case 'blob-progress': {
        const key = `${event.direction} ${event.digest}`;
        const transfer = this.transfers.get(key);
        if (transfer) {
          transfer.bytes = event.bytes;
          transfer.total = event.total ?? transfer.total;
        } else {
          this.transfers.set(key, {
            direction: event.direction,
            digest: event.digest,
            bytes: event.bytes,
            total: event.total,
            startedAt: now,
            done: false,
          });
        }
        break;
      }
      case 'blob-pulled':
        this.bytesPulled += event.size;
        this.finishTransfer('pull', event.digest, event.size);
        break;
      case 'blob-pushed':
        this.bytesPushed += event.size;
        this.finishTransfer('push', event.digest, event.size);
        break;
      default:
        break;
    }
  }

  private finishTransfer(direction: 'push' | 'pull', digest: string, size: number): void {
    const transfer = this.transfers.get(`${direction} ${digest}`);
    if (!transfer) return;
    transfer.bytes = size;
    transfer.total = size;
    transfer.done = true;
  }
}
