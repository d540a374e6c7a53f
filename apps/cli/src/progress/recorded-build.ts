import type { BuildEvent } from '@kiln/engine';

type CacheStatus = Extract<BuildEvent, { type: 'step-done' }>['cache'];

/** Returns a layer-cache status of a step; the event type may not list `hit` and `miss` yet. */
function cacheStatus(status: string): CacheStatus {
  return status as CacheStatus;
}

const BASE = `sha256:${'1'.repeat(64)}`;
const LAYER = `sha256:${'2'.repeat(64)}`;
const IMAGE = `sha256:${'3'.repeat(64)}`;
const CONFIG = `sha256:${'4'.repeat(64)}`;

/**
 * A two-stage build as the engine reports it, each event with the clock time (ms) it arrives
 * at: a base pull, a cached COPY, a RUN with output, a push. Tests replay it into renderers.
 */
export const RECORDED_BUILD: Array<[number, BuildEvent]> = [
  [0, { type: 'build-start', stages: 2, target: 'final' }],
  [0, { type: 'stage-start', stage: 0, name: 'builder', base: 'busybox:latest' }],
  [
    100,
    {
      type: 'registry',
      event: {
        type: 'blob-progress',
        direction: 'pull',
        repository: 'library/busybox',
        digest: BASE,
        bytes: 0,
        total: 2 * 1024 * 1024,
      },
    },
  ],
  [
    600,
    {
      type: 'registry',
      event: {
        type: 'blob-progress',
        direction: 'pull',
        repository: 'library/busybox',
        digest: BASE,
        bytes: 1024 * 1024,
        total: 2 * 1024 * 1024,
      },
    },
  ],
  [
    1100,
    {
      type: 'registry',
      event: {
        type: 'blob-pulled',
        repository: 'library/busybox',
        digest: BASE,
        size: 2 * 1024 * 1024,
        resumed: 0,
      },
    },
  ],
  [
    1100,
    {
      type: 'base-resolved',
      stage: 0,
      reference: 'docker.io/library/busybox:latest',
      digest: IMAGE,
      layers: 1,
    },
  ],
  [
    1200,
    {
      type: 'step-start',
      stage: 0,
      step: 1,
      steps: 2,
      instruction: 'COPY src /src',
      line: 3,
    },
  ],
  [
    1250,
    {
      type: 'step-done',
      stage: 0,
      step: 1,
      cache: cacheStatus('hit'),
      durationMs: 50,
      layer: { digest: LAYER, size: 4096 },
    },
  ],
  [1300, { type: 'step-start', stage: 0, step: 2, steps: 2, instruction: 'RUN make', line: 4 }],
  [1400, { type: 'step-output', stage: 0, step: 2, line: 'compiling', stream: 'stdout' }],
  [
    3800,
    {
      type: 'step-done',
      stage: 0,
      step: 2,
      cache: cacheStatus('miss'),
      durationMs: 2500,
      layer: { digest: LAYER, size: 3 * 1024 * 1024 },
    },
  ],
  [3800, { type: 'stage-start', stage: 1, name: 'final', base: 'builder' }],
  [4000, { type: 'image-assembled', digest: IMAGE, configDigest: CONFIG, layers: 3 }],
  [4000, { type: 'push-start', destination: 'registry.example/app:1' }],
  [
    4500,
    {
      type: 'registry',
      event: { type: 'blob-pushed', repository: 'app', digest: LAYER, size: 3 * 1024 * 1024 },
    },
  ],
  [4600, { type: 'push-done', destination: 'registry.example/app:1', digest: IMAGE }],
  [4600, { type: 'build-done', digest: IMAGE, durationMs: 4600 }],
];

/**
 * Events around a build that are not steps, as the engine reports them: a plugin load, a plugin
 * log line, a Dockerfile lint warning with its line, and a build warning without one.
 */
export const RECORDED_NOTICES: Array<[number, BuildEvent]> = [
  [0, { type: 'plugin-loaded', plugin: 'kiln-plugin-hello', source: '/plugins/hello.mjs' }],
  [
    5,
    {
      type: 'plugin-log',
      plugin: 'kiln-plugin-hello',
      level: 'warn',
      message: 'HELLO has no argument',
      fields: undefined,
    },
  ],
  [
    10,
    {
      type: 'warning',
      message:
        'FROM --platform flag should not use a constant value (FromPlatformFlagConstDisallowed)',
      file: 'Dockerfile',
      line: 1,
    },
  ],
  [20, { type: 'build-start', stages: 1, target: '0' }],
  [
    30,
    {
      type: 'warning',
      message: 'Build args not consumed by any ARG: UNUSED',
      file: undefined,
      line: undefined,
    },
  ],
];
