import { describe, expect, it } from 'vitest';
import { renderEvent } from './render-events.js';

describe('renderEvent', () => {
  it('prints steps and RUN output at info', () => {
    expect(
      renderEvent(
        { type: 'step-start', stage: 0, step: 2, steps: 5, instruction: 'RUN make', line: 3 },
        'info',
      ),
    ).toBe('[2/5] RUN make');
    expect(
      renderEvent(
        { type: 'step-output', stage: 0, step: 2, line: 'compiling', stream: 'stdout' },
        'info',
      ),
    ).toBe('  compiling');
  });

  it('hides layer details below debug', () => {
    const event = {
      type: 'layer-written',
      digest: 'sha256:aa',
      size: 2048,
      diffId: 'sha256:bb',
      uncompressedSize: 4096,
    } as const;
    expect(renderEvent(event, 'info')).toBeUndefined();
    expect(renderEvent(event, 'debug')).toBe('Wrote layer sha256:aa (2.0 KiB, diffID sha256:bb)');
  });

  it('pluralizes the image layer count', () => {
    const image = {
      type: 'image-assembled',
      digest: 'sha256:aa',
      configDigest: 'sha256:cc',
    } as const;
    expect(renderEvent({ ...image, layers: 1 }, 'info')).toBe(
      'Image sha256:aa (config sha256:cc, 1 layer)',
    );
    expect(renderEvent({ ...image, layers: 0 }, 'info')).toBe(
      'Image sha256:aa (config sha256:cc, 0 layers)',
    );
    expect(renderEvent({ ...image, layers: 3 }, 'info')).toBe(
      'Image sha256:aa (config sha256:cc, 3 layers)',
    );
  });

  it('prints nothing but warnings at warn', () => {
    expect(renderEvent({ type: 'push-start', destination: 'r/a:1' }, 'warn')).toBeUndefined();
    const retry = {
      type: 'retry',
      method: 'PUT',
      target: 'r/v2/a/blobs',
      attempt: 2,
      delayMs: 500,
      reason: '503',
    } as const;
    expect(renderEvent({ type: 'registry', event: retry }, 'warn')).toBe(
      'Retrying PUT r/v2/a/blobs (attempt 2) in 500 ms: 503',
    );
    expect(renderEvent({ type: 'registry', event: retry }, 'error')).toBeUndefined();
  });
});
