import { EngineError } from '../errors.js';

/**
 * Runs `buildOne` for every stage in `order`, each once the stages it depends on (among those in
 * `order`) are done, with at most `concurrency` at a time. The first failure stops new stages,
 * calls `onFailure` (to cancel the running ones), waits for the running ones to settle and rejects
 * with that first error.
 */
export async function runStageGraph(
  order: readonly number[],
  dependsOn: (index: number) => readonly number[],
  concurrency: number,
  buildOne: (index: number) => Promise<void>,
  onFailure: () => void = () => {},
): Promise<void> {
  const wanted = new Set(order);
  const done = new Set<number>();
  const pending = [...order];
  const running = new Map<number, Promise<void>>();
  let failure: { error: unknown } | undefined;
  const limit = Math.max(1, Math.floor(concurrency));

  const ready = (index: number): boolean =>
    dependsOn(index).every((dep) => !wanted.has(dep) || done.has(dep));

  while ((pending.length > 0 && failure === undefined) || running.size > 0) {
    while (failure === undefined && running.size < limit) {
      const next = pending.findIndex(ready);
      if (next < 0) break;
      const [index] = pending.splice(next, 1) as [number];
      running.set(
        index,
        buildOne(index).then(
          () => {
            done.add(index);
          },
          (error: unknown) => {
            if (failure === undefined) {
              failure = { error };
              onFailure();
            }
          },
        ),
      );
    }
    if (running.size === 0) {
      if (failure !== undefined || pending.length === 0) break;
      // The parser orders stages so that dependencies come first; this means a cycle slipped through.
      throw new EngineError(
        'UNKNOWN_STAGE',
        `Stages ${pending.join(', ')} wait for stages that are never built`,
        { hint: 'This is a bug in the stage graph; please report it with the Dockerfile.' },
      );
    }
    // Wait for any running stage to finish, then drop it from the running set.
    const finished = await Promise.race(
      [...running.entries()].map(([index, promise]) => promise.then(() => index)),
    );
    running.delete(finished);
  }
  if (failure !== undefined) throw failure.error;
}
