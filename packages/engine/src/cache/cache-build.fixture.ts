import path from 'node:path';
import type { TestRegistry } from '@kiln/testkit';
import { build } from '../build.js';
import type { BuildEvent } from '../events.js';
import type { BuildOptions, BuildResult } from '../options.js';
import type { LayerCacheOptions, StepCacheResult } from './layer-cache.js';

export interface CacheBuild {
  result: BuildResult;
  events: BuildEvent[];
  /** Cache status of each step that has a lookup, as "stage:step=status". */
  statuses: string[];
}

/**
 * Builds `context` without pushing, with busybox served by the test registry, reproducible
 * timestamps and `<tmp>/work` as the work directory unless `extra` sets another.
 */
export async function cacheBuild(
  env: { registry: TestRegistry; tmp: string },
  context: string,
  cache: LayerCacheOptions,
  extra: Partial<BuildOptions> = {},
): Promise<CacheBuild> {
  const events: BuildEvent[] = [];
  const result = await build({
    context,
    noPush: true,
    insecureRegistries: [env.registry.host],
    registryMap: { 'docker.io': [env.registry.host] },
    reproducible: true,
    workDir: path.join(env.tmp, 'work'),
    cache,
    onEvent: (event) => events.push(event),
    ...extra,
  });
  const statuses = (result.cache?.steps ?? [])
    .slice()
    .sort((a, b) => a.stage - b.stage || a.step - b.step)
    .map((step) => `${step.stage}:${step.step}=${step.status}`);
  return { result, events, statuses };
}

/** Returns the input fields a missed step's nearest cache entry differs in. */
export function differingFields(step: StepCacheResult | undefined): string[] {
  return step?.explanation?.kind === 'nearest'
    ? step.explanation.differences.map((difference) => difference.field)
    : [];
}
