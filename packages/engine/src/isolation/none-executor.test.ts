import type { RunRequest } from '@kiln/plugin-api';
import { describe, expect, it } from 'vitest';
import { EngineError } from '../errors.js';
import { createNoneExecutor } from './none-executor.js';

// Only the checks that fail before anything is started: a command runs on / itself, so commands
// are run only in the runc end-to-end test.
function request(overrides: Partial<RunRequest>): RunRequest {
  return {
    rootfs: '/nonexistent-root',
    argv: ['/bin/false'],
    env: [],
    cwd: '/',
    user: '',
    mounts: [],
    network: 'default',
    onOutput: () => undefined,
    signal: new AbortController().signal,
    ...overrides,
  };
}

async function failureOf(overrides: Partial<RunRequest>, helper = '/nonexistent/kiln-setid') {
  return createNoneExecutor(helper)
    .run(request(overrides))
    .then(
      () => undefined,
      (error: unknown) => error,
    );
}

describe('none executor', () => {
  it('rejects RUN --mount', async () => {
    const failure = await failureOf({
      mounts: [{ type: 'bind', source: '/tmp/x', target: '/run/secrets/token', readOnly: true }],
    });
    expect(failure).toBeInstanceOf(EngineError);
    expect((failure as EngineError).code).toBe('UNSUPPORTED_INSTRUCTION');
    expect((failure as EngineError).message).toContain('RUN --mount');
    expect((failure as EngineError).message).toContain('/run/secrets/token');
  });

  it('rejects RUN --network=none', async () => {
    const failure = await failureOf({ network: 'none' });
    expect((failure as EngineError).code).toBe('UNSUPPORTED_INSTRUCTION');
    expect((failure as EngineError).message).toContain('--network=none');
  });

  it('names a missing setid helper', async () => {
    const failure = await failureOf({});
    expect((failure as EngineError).code).toBe('RUN_SETUP_FAILED');
    expect((failure as EngineError).message).toContain('/nonexistent/kiln-setid');
  });
});
