import { describe, expect, it } from 'vitest';
import { runStageGraph } from './stage-graph.js';

/** A promise with its resolve function, to finish stages in a chosen order. */
function gate(): { promise: Promise<void>; open: () => void } {
  let open = (): void => {};
  const promise = new Promise<void>((resolve) => {
    open = resolve;
  });
  return { promise, open };
}

describe('runStageGraph', () => {
  it('starts a stage only after the stages it depends on', async () => {
    const deps: Record<number, number[]> = { 0: [], 1: [0], 2: [], 3: [1, 2] };
    const log: string[] = [];
    await runStageGraph(
      [0, 2, 1, 3],
      (i) => deps[i] ?? [],
      4,
      async (i) => {
        log.push(`start ${i}`);
        await Promise.resolve();
        log.push(`end ${i}`);
      },
    );
    for (const [stage, needs] of Object.entries(deps)) {
      for (const dep of needs) {
        expect(log.indexOf(`start ${stage}`)).toBeGreaterThan(log.indexOf(`end ${dep}`));
      }
    }
    expect(log.filter((line) => line.startsWith('end'))).toHaveLength(4);
  });

  it('runs independent stages together up to the limit', async () => {
    const gates = [gate(), gate(), gate()];
    let running = 0;
    let peak = 0;
    const done = runStageGraph(
      [0, 1, 2],
      () => [],
      2,
      async (i) => {
        running += 1;
        peak = Math.max(peak, running);
        await gates[i]?.promise;
        running -= 1;
      },
    );
    await new Promise((resolve) => setImmediate(resolve));
    expect(running).toBe(2);
    for (const g of gates) g.open();
    await done;
    expect(peak).toBe(2);
  });

  it('ignores dependencies outside the order', async () => {
    const built: number[] = [];
    await runStageGraph(
      [2],
      () => [0, 1],
      1,
      async (i) => {
        built.push(i);
      },
    );
    expect(built).toEqual([2]);
  });

  it('stops on the first failure, cancels and waits for running stages', async () => {
    const slow = gate();
    let cancelled = false;
    let slowFinished = false;
    const started: number[] = [];
    const result = runStageGraph(
      [0, 1, 2],
      (i) => (i === 2 ? [0] : []),
      2,
      async (i) => {
        started.push(i);
        if (i === 0) {
          await slow.promise;
          slowFinished = true;
          return;
        }
        throw new Error(`stage ${i} broke`);
      },
      () => {
        cancelled = true;
        slow.open();
      },
    );
    await expect(result).rejects.toThrow('stage 1 broke');
    expect(cancelled).toBe(true);
    expect(slowFinished).toBe(true);
    expect(started).toEqual([0, 1]);
  });
});
