import { describe, expect, it } from 'vitest';

import { Limiter } from './limit.js';

describe('Limiter', () => {
  it('never runs more tasks than its limit', async () => {
    const limiter = new Limiter(2);
    let running = 0;
    let peak = 0;
    const task = async (): Promise<void> => {
      running++;
      peak = Math.max(peak, running);
      await new Promise((resolve) => setImmediate(resolve));
      running--;
    };
    await Promise.all(Array.from({ length: 10 }, () => limiter.run(task)));
    expect(peak).toBe(2);
    expect(limiter.active).toBe(0);
  });

  it('frees a slot when a task fails', async () => {
    const limiter = new Limiter(1);
    await expect(limiter.run(() => Promise.reject(new Error('boom')))).rejects.toThrow('boom');
    expect(await limiter.run(() => Promise.resolve(7))).toBe(7);
  });

  it('rejects a limit below one', () => {
    expect(() => new Limiter(0)).toThrow(RangeError);
  });
});
