// Runs real-world cases several at a time and retries a build once when the network failed it.

/**
 * Output lines of apt-get, curl and npm that mean the network failed rather than the Dockerfile.
 * A build that fails with one of them is worth one more attempt.
 */
const NETWORK_FAILURE =
  /Temporary failure resolving|Could not resolve|Failed to fetch|Unable to fetch some archives|Could not connect|Unable to connect|Connection failed|Connection timed out|Connection reset|ECONNRESET|ETIMEDOUT|EAI_AGAIN|ENOTFOUND|socket hang up|npm (?:ERR!|error) network/;

/** Returns the output line that shows a network failure in `message`, or undefined. */
export function networkFailureLine(message) {
  const match = NETWORK_FAILURE.exec(message);
  if (match === null) return undefined;
  const start = message.lastIndexOf('\n', match.index) + 1;
  const end = message.indexOf('\n', match.index);
  return message.slice(start, end === -1 ? undefined : end).trim();
}

/**
 * Runs `build`; when it rejects with a network failure, calls `onRetry` with the failing line and
 * runs `build` once more, whose outcome is final.
 */
export async function retryOnNetworkFailure(build, onRetry) {
  try {
    return await build();
  } catch (error) {
    const line = networkFailureLine(`${error?.message ?? error}\n${error?.output ?? ''}`);
    if (line === undefined) throw error;
    onRetry(line);
    return build();
  }
}

/**
 * Starts `run(c)` for every case, at most `concurrency` at a time, and returns a map of case name
 * to a promise of `{ value }` or `{ error }` that never rejects. Cases with the largest
 * `estimate(c)` start first, so a long case does not start last and leave the other slots idle.
 * A case with a parent starts once the parent's run has settled (its image is pushed by then).
 */
export function scheduleCases(cases, run, { concurrency, estimate }) {
  if (!Number.isInteger(concurrency) || concurrency < 1) {
    throw new Error(`concurrency ${concurrency} is invalid: use a whole number of at least 1`);
  }
  const waiting = [];
  let running = 0;
  const acquire = () => {
    if (running < concurrency) {
      running += 1;
      return Promise.resolve();
    }
    return new Promise((resolve) => waiting.push(resolve));
  };
  const release = () => {
    const next = waiting.shift();
    if (next === undefined) running -= 1;
    else next();
  };

  const byName = new Map(cases.map((c) => [c.name, c]));
  const outcomes = new Map();
  const start = (c) => {
    const known = outcomes.get(c.name);
    if (known !== undefined) return known;
    const parent = c.parent === undefined ? undefined : byName.get(c.parent.case);
    const parentDone = parent === undefined ? undefined : start(parent);
    const outcome = (async () => {
      if (parentDone !== undefined) await parentDone;
      await acquire();
      try {
        return { value: await run(c) };
      } catch (error) {
        return { error };
      } finally {
        release();
      }
    })();
    outcomes.set(c.name, outcome);
    return outcome;
  };
  const ordered = [...cases].sort(
    (a, b) => estimate(b) - estimate(a) || a.name.localeCompare(b.name),
  );
  for (const c of ordered) start(c);
  return outcomes;
}
